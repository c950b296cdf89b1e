"""The outbox view: what waits to be sent, why, and what to do about it."""
