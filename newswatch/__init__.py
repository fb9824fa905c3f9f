"""newswatch: a terminal news monitor."""

__version__ = "0.1.0"
