"""A scripted SMTP server on loopback for unit tests of the transaction logic.

It speaks just enough ESMTP (RFC 5321) to drive smtplib: EHLO, MAIL, RCPT, DATA, RSET,
NOOP, QUIT. Replies can be scripted per command and per recipient; every accepted
message is recorded. TLS and AUTH are left to the integration tests and the real Postfix.
"""

from __future__ import annotations

import socketserver
import threading
from dataclasses import dataclass, field
from io import BufferedIOBase


@dataclass
class Received:
    mail_from: str
    mail_options: list[str]
    recipients: list[str]
    data: bytes  # as on the wire: dot-stuffed, CRLF, without the final "."


@dataclass
class Script:
    extensions: list[str] = field(default_factory=lambda: ["PIPELINING", "8BITMIME"])
    mail_reply: tuple[int, str] = (250, "2.1.0 Ok")
    rcpt_replies: dict[str, tuple[int, str]] = field(default_factory=dict)
    data_reply: tuple[int, str] = (354, "End data with <CR><LF>.<CR><LF>")
    # What DATA gets when no recipient was accepted; a conforming server refuses it.
    data_without_recipients: tuple[int, str] = (554, "5.5.1 Error: no valid recipients")
    final_replies: list[tuple[int, str]] = field(default_factory=list)  # one per message
    drop_after_data: bool = False  # close without answering the end of the data


class FakeSmtpServer:
    def __init__(self, script: Script | None = None) -> None:
        self.script = script or Script()
        self.received: list[Received] = []
        self.connections = 0
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                outer.connections += 1
                outer._converse(self.rfile, self.wfile)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _converse(self, rfile: BufferedIOBase, wfile: BufferedIOBase) -> None:
        def reply(code: int, text: str) -> None:
            wfile.write(f"{code} {text}\r\n".encode())

        reply(220, "fake ESMTP")
        mail_from, options, recipients = "", list[str](), list[str]()
        in_transaction = False
        while line := rfile.readline():
            command = line.decode("utf-8").rstrip("\r\n")
            verb = command.split(" ", 1)[0].upper()
            if verb == "EHLO":
                lines = ["fake", *self.script.extensions]
                for text in lines[:-1]:
                    wfile.write(f"250-{text}\r\n".encode())
                reply(250, lines[-1])
            elif verb == "MAIL":
                parts = command[len("MAIL FROM:") :].split(" ")
                mail_from, options, recipients = parts[0].strip("<>"), parts[1:], []
                in_transaction = self.script.mail_reply[0] == 250
                reply(*self.script.mail_reply)
            elif verb in ("RCPT", "DATA") and not in_transaction:
                reply(503, "5.5.1 Error: need MAIL command")
            elif verb == "RCPT":
                address = command[len("RCPT TO:") :].strip().strip("<>")
                code, text = self.script.rcpt_replies.get(address, (250, "2.1.5 Ok"))
                if code == 250:
                    recipients.append(address)
                reply(code, text)
            elif verb == "DATA":
                answer = (
                    self.script.data_reply if recipients else self.script.data_without_recipients
                )
                reply(*answer)
                if answer[0] != 354:
                    continue
                chunks = []
                while (chunk := rfile.readline()) not in (b".\r\n", b""):
                    chunks.append(chunk)
                if self.script.drop_after_data:
                    return
                self.received.append(Received(mail_from, options, recipients, b"".join(chunks)))
                in_transaction = False
                finals = self.script.final_replies
                reply(*(finals.pop(0) if finals else (250, "2.0.0 Ok: queued")))
            elif verb == "RSET":
                mail_from, options, recipients = "", [], []
                in_transaction = False
                reply(250, "2.0.0 Ok")
            elif verb == "QUIT":
                reply(221, "2.0.0 Bye")
                return
            else:
                reply(250, "2.0.0 Ok")
