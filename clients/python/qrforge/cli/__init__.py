"""The ``qrforge`` command line (``qrforge --help``), built on :mod:`qrforge.client`."""
