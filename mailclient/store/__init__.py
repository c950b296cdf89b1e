"""The local store: SQLite cache of mail and the outbox."""
