"""Data files shipped inside the package as ``mailclient.resources``: icons and the like."""
