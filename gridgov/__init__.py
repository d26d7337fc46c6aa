"""gridgov: a grid-based community governance platform."""

__version__ = "0.1.0"
