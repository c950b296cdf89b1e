"""The IMAP module: connections to IMAP servers and the sync into the local store.

One way to speak IMAP: imapclient owns the connection, our reader owns the hot path.

- imapclient (over imaplib) makes the connection (mailclient.imap.connection), does
  STARTTLS, signs in, and speaks the commands whose answers are small and irregular:
  CAPABILITY, LIST and LSUB, NAMESPACE, SEARCH with a charset (its literals), APPEND, IDLE
  and LOGOUT; and, on the connections that save into the Sent and Drafts folders (append,
  drafts), the few commands those need: CREATE and SUBSCRIBE, SELECT, SEARCH HEADER, STORE
  and EXPUNGE. mailclient.imap.connection.Connection types what of it we call.
- Everything a sync repeats per folder and per message (SELECT/EXAMINE, STATUS (a
  resync's all in one write), UID FETCH pipelined, UID SEARCH, STORE, MOVE/COPY, EXPUNGE,
  ENABLE, CREATE/RENAME/DELETE) is written and read by wire.ResponseReader on the same
  socket. It gets imaplib's buffered ``readline``/``read`` and ``send`` through one seam,
  connection.wire_io(). The two never interleave: what one sends is read to its tagged
  completion before the other sends, and the reader's tags (MC1, MC2, ...) cannot be
  taken for imaplib's.
- Every use of a private part of imapclient or imaplib (the socket hook for the
  AbortSwitch, LOGIN/AUTHENTICATE with the tagged answer visible, the buffered reader) is
  in mailclient.imap.connection. pyproject.toml pins the imapclient releases they were
  checked against, and tests/unit/test_imap_connection_seam.py fails, naming the part
  that changed, when a release changes one of them.

Why not our reader for everything: it would have to learn to connect, STARTTLS, SASL
continuations, sending literals, LIST and NAMESPACE parsing and IDLE with timeouts, all of
which imapclient does correctly, for commands whose speed does not matter. Why not
imapclient for everything: its general parser, not the server, bounds a header sync
(see mailclient.imap.wire).

The connect / STARTTLS / pin / sign-in / error-translation skeleton is shared with SMTP in
mailclient.core.connect.
"""
