"""Plain dataclasses and the error hierarchy shared by every layer."""
