"""shopbot: an open-source Telegram shop for small businesses."""

__version__ = "0.1.0"
