"""Accounts in the window: Add account, Manage accounts, and answering servers that refuse.

A wrong password, an untrusted certificate and an OAuth2 sign-in that has run out are asked
about here, never in a loop.
"""
