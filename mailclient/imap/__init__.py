"""The IMAP module: connections to IMAP servers and the sync into the local store."""
