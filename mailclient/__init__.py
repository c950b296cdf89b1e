"""mailclient: a fast, safe desktop email client."""

__version__ = "0.1.0"
APP_NAME = "Mailclient"
# Reverse-DNS id: names the desktop entry, the AppStream component, the icon and the Flatpak.
APP_ID = "org.mailclient.Mailclient"
