"""StyleFuse Desktop: turn your own photos into art."""

__version__ = "0.1.0"
