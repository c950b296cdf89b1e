"""MIME: building, parsing and sanitizing messages, and the rules of writing one."""
