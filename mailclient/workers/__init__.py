"""Worker threads that run blocking core calls and report back with signals."""
