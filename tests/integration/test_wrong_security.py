"""The wrong security for a port, chosen against the rig's real listeners, gives a message
that says what to choose: SSL/TLS on a STARTTLS port, STARTTLS on an SSL/TLS port (told
quickly, not after the 30-second timeout), for IMAP and SMTP alike."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from dataclasses import replace

import pytest

from mailclient.accounts.model import Account, Security
from mailclient.accounts.signin import FixedPassword
from mailclient.core import tls
from mailclient.core.errors import TlsError
from mailclient.imap.client import open_client
from mailclient.smtp.client import open_smtp
from tests.integration.imap_helpers import account
from tests.rig import MailServers

USER = "alice"


def imap(servers: MailServers, port: int, security: Security) -> Account:
    return replace(account(servers, USER, port), imap_security=security)


def smtp(servers: MailServers, port: int, security: Security) -> Account:
    return replace(account(servers, USER), smtp_port=port, smtp_security=security)


def test_ssl_on_an_imap_starttls_port_says_to_choose_starttls(mail_servers: MailServers) -> None:
    chosen = imap(mail_servers, mail_servers.imap_port, Security.SSL)
    with pytest.raises(TlsError, match="expects STARTTLS") as raised:
        open_client(chosen, FixedPassword(mail_servers.user(USER).password))
    assert "WRONG_VERSION_NUMBER" not in str(raised.value)


def test_starttls_on_an_imaps_port_says_to_choose_ssl(mail_servers: MailServers) -> None:
    chosen = imap(mail_servers, mail_servers.imaps_port, Security.STARTTLS)
    with pytest.raises(TlsError, match="expects SSL/TLS from the start"):
        open_client(chosen, FixedPassword(mail_servers.user(USER).password))


def test_ssl_on_the_submission_port_says_to_choose_starttls(mail_servers: MailServers) -> None:
    chosen = smtp(mail_servers, mail_servers.submission_port, Security.SSL)
    with pytest.raises(TlsError, match="expects STARTTLS"):
        open_smtp(chosen, FixedPassword(mail_servers.user(USER).password))


def test_starttls_on_the_smtps_port_says_to_choose_ssl(mail_servers: MailServers) -> None:
    chosen = smtp(mail_servers, mail_servers.smtps_port, Security.STARTTLS)
    with pytest.raises(TlsError, match="expects SSL/TLS from the start"):
        open_smtp(chosen, FixedPassword(mail_servers.user(USER).password))


class SlowGreeter:
    """Forwards to ``upstream`` but holds the server's first bytes back for ``delay``
    seconds on every connection: a slow server, not a TLS one."""

    def __init__(self, upstream: tuple[str, int], delay: float) -> None:
        self.upstream, self.delay = upstream, delay
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, 0), daemon=True).start()
            threading.Thread(
                target=self._pump, args=(server, client, self.delay), daemon=True
            ).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket, delay: float) -> None:
        time.sleep(delay)
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._listener.close()
        for sock in self._sockets:
            sock.close()


def test_a_slow_greeting_is_still_awaited(
    mail_servers: MailServers, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server stays silent past the greeting wait and answers the ClientHello of the
    # check with plain text: not a TLS port, so the greeting is awaited.
    monkeypatch.setattr(tls, "GREETING_WAIT", 0.05)
    slow = SlowGreeter((mail_servers.host, mail_servers.imap_port), delay=0.5)
    try:
        chosen = imap(mail_servers, slow.port, Security.STARTTLS)
        client = open_client(chosen, FixedPassword(mail_servers.user(USER).password))
        client.logout()
    finally:
        slow.close()
