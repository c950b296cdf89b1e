"""MIME: building, parsing and sanitizing messages."""
