"""Data files shipped inside the package as ``mailclient.resources``: icons, the provider list."""
