"""mailclient: a fast, safe desktop email client."""

__version__ = "0.1.0"
APP_NAME = "Mailclient"
