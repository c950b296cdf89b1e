"""The test rig's sign-in proxy itself: what it answers in place of the server reaches
the client intact, whatever the server is sending at the same moment."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator

import pytest

from tests.integration.sign_in_proxy import SignInProxy
from tests.rig import CertificateFiles

# Several TLS records (16 KiB each), each more than the small socket buffers below hold.
REPLY = b"250-" + b"x" * (256 * 1024) + b"\r\n"
BUFFER = 4096
ANSWER = b"454 4.7.0 Temporary authentication failure\r\n"
ROUNDS = 20


@pytest.fixture
def upstream(rig_certificates: CertificateFiles) -> Iterator[tuple[str, int]]:
    """A TLS server that answers the first line of each connection with REPLY, then waits
    for the connection to end."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(rig_certificates.cert_file, rig_certificates.key_file)
    listener = socket.create_server(("127.0.0.1", 0))

    def answer(raw: socket.socket) -> None:
        with contextlib.suppress(OSError), context.wrap_socket(raw, server_side=True) as conn:
            conn.makefile("rb").readline()
            conn.sendall(REPLY)
            conn.recv(1)

    def serve() -> None:
        while True:
            try:
                raw, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=answer, args=(raw,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield listener.getsockname()
    listener.shutdown(socket.SHUT_RDWR)
    listener.close()


def _sign_in_during_the_reply(proxy: SignInProxy, certificates: CertificateFiles) -> bytes:
    """What the client receives when it signs in while the server's reply is on its way."""
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, BUFFER)
    raw.settimeout(30)
    raw.connect(("127.0.0.1", proxy.port))
    context = ssl.create_default_context(cafile=str(certificates.ca_file))
    with context.wrap_socket(raw, server_hostname="127.0.0.1") as client:
        client.sendall(b"EHLO client\r\n")
        received = client.recv(1)
        # The proxy is in the middle of writing a record of REPLY, blocked until this
        # side reads on: the sign-in line gets its answer meanwhile.
        client.sendall(b"AUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n")
        while len(received) < len(REPLY) + len(ANSWER):
            data = client.recv(1024 * 1024)
            if not data:
                break
            received += data
    return received


def test_an_answer_is_not_written_into_a_reply_being_forwarded(
    rig_certificates: CertificateFiles, upstream: tuple[str, int]
) -> None:
    proxy = SignInProxy(upstream, rig_certificates)
    proxy.answer = ANSWER
    # Small buffers on both sides (the proxy's connections inherit its listener's): the
    # proxy cannot finish writing a record of REPLY to the client until the client reads.
    proxy._listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, BUFFER)
    try:
        for n in range(ROUNDS):
            received = _sign_in_during_the_reply(proxy, rig_certificates)
            where = f"round {n + 1} of {ROUNDS}: {len(received)} bytes"
            assert received.count(ANSWER) == 1, where
            reply_intact = received.replace(ANSWER, b"") == REPLY
            assert reply_intact, where
    finally:
        proxy.close()
