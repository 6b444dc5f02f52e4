"""``python -m qrforge.cli`` runs the command line (same as the ``qrforge`` script)."""

from qrforge.cli.app import main

main()
