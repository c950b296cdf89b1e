"""Unit tests of mailclient.discovery."""
