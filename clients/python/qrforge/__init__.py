"""The ``qrforge`` package: the SDK (``qrforge.client``) and the command line (``qrforge.cli``).
In a server checkout the generated gRPC stubs (``qrforge.v1``) share the name; each side's
``__init__`` extends the package path, so both import whichever is found first."""

__path__ = __import__("pkgutil").extend_path(__path__, __name__)
