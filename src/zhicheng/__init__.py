"""智城 zhicheng: one platform for a new-type smart city."""

__version__ = "0.1.0"
