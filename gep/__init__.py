"""gep: GEP (gross ecosystem product) accounting and compensation-linkage engine."""

__version__ = "0.1.0"
