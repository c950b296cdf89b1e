"""Helpers shared by tests: small loopback servers and certificates."""
