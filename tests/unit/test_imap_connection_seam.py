"""The private parts of imapclient and imaplib that mailclient.imap.connection relies on.

pyproject.toml pins the imapclient releases these were checked against. When a release
(or a Python's imaplib) changes one of them, a test here fails and says which part changed,
so that the pin is moved only together with mailclient.imap.connection.
"""

from __future__ import annotations

import imaplib
import socket
import ssl
import threading
from collections.abc import Iterator
from importlib.metadata import version

import imapclient
import pytest
from imapclient import imap4, tls

from mailclient.core.abort import AbortSwitch
from mailclient.imap import connection

IMAPCLIENT = f"imapclient {version('imapclient')}"


class Reached(Exception):
    """Raised by a hook to prove that imapclient called it."""


def changed(what: str) -> str:
    return f"{IMAPCLIENT} changed: {what}. Adapt mailclient.imap.connection, then the pin."


@pytest.fixture
def greeting_server() -> Iterator[tuple[str, int]]:
    """A server on 127.0.0.1 that greets one connection and answers CAPABILITY."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def serve() -> None:
        try:
            peer, _ = server.accept()
        except OSError:
            return
        accepted.append(peer)
        peer.sendall(b"* OK ready\r\n")
        with peer.makefile("rb") as lines:
            for line in lines:
                tag, _, name = line.strip().partition(b" ")
                if name.upper() == b"CAPABILITY":
                    peer.sendall(b"* CAPABILITY IMAP4rev1\r\n")
                peer.sendall(tag + b" OK done\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[:2]
    server.close()
    for peer in accepted:
        peer.close()
    thread.join(5)


def test_imapclient_builds_its_imaplib_connection_with_create_imap4() -> None:
    class Probe(imapclient.IMAPClient):  # type: ignore[misc]
        def _create_IMAP4(self) -> None:
            raise Reached

    try:
        Probe("127.0.0.1", port=9, ssl=False)
    except Reached:
        return
    except Exception as error:
        pytest.fail(changed(f"IMAPClient() no longer calls _create_IMAP4() ({error!r})"))
    pytest.fail(changed("IMAPClient() no longer calls _create_IMAP4()"))


@pytest.mark.parametrize(
    ("imap_class", "args"),
    [
        (imap4.IMAP4WithTimeout, ("127.0.0.1", 9, 5.0)),
        (tls.IMAP4_TLS, ("127.0.0.1", 9, ssl.create_default_context(), 5.0)),
    ],
    ids=["plain", "tls"],
)
def test_both_imap4_classes_open_their_socket_with_create_socket(
    imap_class: type[imaplib.IMAP4], args: tuple[object, ...]
) -> None:
    class Probe(imap_class):  # type: ignore[misc,valid-type]
        def _create_socket(self, timeout: float | None = None) -> socket.socket:
            raise Reached

    name = f"imapclient.{imap_class.__module__.rsplit('.', 1)[-1]}.{imap_class.__name__}"
    try:
        Probe(*args)
    except Reached:
        return
    except TypeError as error:
        pytest.fail(changed(f"{name} takes other arguments: {error}"))
    except Exception as error:
        pytest.fail(changed(f"{name} no longer opens its socket with _create_socket ({error!r})"))
    pytest.fail(changed(f"{name} no longer opens its socket with _create_socket"))


def test_the_client_keeps_the_imaplib_connection_as_imap(
    greeting_server: tuple[str, int],
) -> None:
    host, port = greeting_server
    client = connection.connect(AbortSwitch(), host, port, None, 5.0)
    try:
        imap = getattr(client, "_imap", None)
        assert isinstance(imap, imaplib.IMAP4), changed("the IMAPClient has no _imap")
        for part in ("file", "send", "literal", "state"):
            assert hasattr(imap, part), changed(f"imaplib's IMAP4 has no {part}")
        readline, read, send = connection.wire_io(client)
        assert all(map(callable, (readline, read, send))), changed("_imap.file is no file")
    finally:
        client.shutdown()


@pytest.mark.parametrize("part", ["_simple_command", "_quote", "_command"])
def test_imaplib_has_the_command_functions_we_call(part: str) -> None:
    assert callable(getattr(imaplib.IMAP4, part, None)), changed(f"imaplib.IMAP4.{part} is gone")


def test_imaplib_authenticator_takes_a_callback() -> None:
    authenticator = getattr(imaplib, "_Authenticator", None)
    assert authenticator is not None, changed("imaplib._Authenticator is gone")
    # imaplib tells a SASL callback from a literal by the type of a bound method.
    process = authenticator(lambda challenge: b"answer").process
    assert type(process) is type(imaplib.IMAP4._command.__get__(object())), changed(
        "imaplib._Authenticator.process is no bound method"
    )
    assert process(b"") == b"YW5zd2Vy", changed("imaplib._Authenticator encodes otherwise")
