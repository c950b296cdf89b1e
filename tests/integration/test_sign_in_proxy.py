"""The test rig's sign-in proxy itself: what it answers in place of the server reaches
the client intact, whatever the server is sending at the same moment."""

from __future__ import annotations

import socket
import ssl
import threading

from tests.integration.sign_in_proxy import SignInProxy
from tests.rig import CertificateFiles

# Several TLS records (16 KiB each), each more than the small socket buffers below hold.
REPLY = b"250-" + b"x" * (256 * 1024) + b"\r\n"
BUFFER = 4096
ANSWER = b"454 4.7.0 Temporary authentication failure\r\n"


def _upstream(certificates: CertificateFiles) -> tuple[socket.socket, threading.Event]:
    """A TLS server that answers its first line with REPLY and then waits."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificates.cert_file, certificates.key_file)
    listener = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()

    def serve() -> None:
        raw, _ = listener.accept()
        with context.wrap_socket(raw, server_side=True) as conn:
            conn.makefile("rb").readline()
            conn.sendall(REPLY)
            done.wait()

    threading.Thread(target=serve, daemon=True).start()
    return listener, done


def test_an_answer_is_not_written_into_a_reply_being_forwarded(
    rig_certificates: CertificateFiles,
) -> None:
    listener, done = _upstream(rig_certificates)
    proxy = SignInProxy(listener.getsockname(), rig_certificates)
    proxy.answer = ANSWER
    # Small buffers on both sides (the proxy's connections inherit its listener's): the
    # proxy cannot finish writing a record of REPLY to the client until the client reads.
    proxy._listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, BUFFER)
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, BUFFER)
    raw.settimeout(30)
    raw.connect(("127.0.0.1", proxy.port))
    context = ssl.create_default_context(cafile=str(rig_certificates.ca_file))
    try:
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
    finally:
        done.set()
        proxy.close()
        listener.close()
    assert received.count(ANSWER) == 1
    assert received.replace(ANSWER, b"") == REPLY
