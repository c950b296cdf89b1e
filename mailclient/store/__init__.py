"""The local store: the profile's SQLite files and the drafts kept on this computer.

The mail cache (with the queue of changes waiting for the server, the full-text index and
the threads), the outbox and the address book each have a file of their own; only this
package imports sqlite3.
"""
