"""capplan: capacity planning and benchmarking for virtualized infrastructure."""

__version__ = "0.1.0"
