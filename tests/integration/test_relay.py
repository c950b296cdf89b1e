"""The rig's relay (tests/rig/relay.py) and the TLS front built on it (tests/rig/tls_front.py).

The front carries both directions of its connections at full speed at once, byte for
byte. Its client and server are asyncio's (one thread each, OpenSSL through memory
buffers), so whatever goes wrong is the front's; small receive buffers at both ends make
the front's writes stop in the middle of its TLS records and take them up again. A front
whose two directions used one TLS connection from two threads failed this within a few
rounds, most times (records the server could not decrypt, connections dropped).
"""

from __future__ import annotations

import asyncio
import random
import socket
import ssl
import threading
from collections.abc import Callable

import pytest

from tests.rig import CertificateFiles
from tests.rig.relay import Pipe, Relay, passing
from tests.rig.tls_front import TlsFront

ROUNDS = 30
CONNECTIONS = 2  # at once in each round
SIZE = 1024 * 1024 + 12345  # each way, on each connection
BUFFER = 8192  # the receive buffer of the client and of the server
LARGEST_WRITE = 40_000


def _payload(seed: int) -> bytes:
    return random.Random(seed).randbytes(SIZE)


def _mismatch(sent: bytes, received: bytes) -> str | None:
    """None if ``received`` is ``sent``; otherwise where they part."""
    if received == sent:
        return None
    same = next(
        (i for i, (a, b) in enumerate(zip(sent, received, strict=False)) if a != b),
        min(len(sent), len(received)),
    )
    return f"{len(received)} bytes received of {len(sent)} sent, alike up to byte {same}"


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, sending: bytes, seed: int
) -> bytes:
    """Send ``sending`` in writes of random sizes while receiving as much; what came."""
    sizes = random.Random(seed)

    async def send() -> None:
        view = memoryview(sending)
        start = 0
        while start < len(sending):
            end = start + sizes.randint(1, LARGEST_WRITE)
            writer.write(view[start:end])
            await writer.drain()
            start = end

    async def receive() -> bytes:
        received = bytearray()
        while len(received) < SIZE and (data := await reader.read(65536)):
            received += data
        return bytes(received)

    _, received = await asyncio.gather(send(), receive())
    return received


def _small_buffer(sock: socket.socket) -> socket.socket:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, BUFFER)
    return sock


async def _round(certificates: CertificateFiles, upstream_tls: bool, first_seed: int) -> list[str]:
    """CONNECTIONS exchanges at once through a new front; what went wrong."""
    problems: list[str] = []
    server_context = None
    if upstream_tls:
        server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_context.load_cert_chain(certificates.cert_file, certificates.key_file)
    client_context = ssl.create_default_context(cafile=str(certificates.ca_file))
    served: list[asyncio.Future[None]] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        done = asyncio.get_running_loop().create_future()
        served.append(done)
        try:
            # The client says which payloads are theirs.
            seed = int.from_bytes(await reader.readexactly(4))
            received = await _exchange(reader, writer, _payload(seed + 1), seed)
            if problem := _mismatch(_payload(seed), received):
                problems.append(f"to the server: {problem}")
            # The client closes once it has all: its end reaches the server.
            if rest := await reader.read():
                problems.append(f"to the server: {len(rest)} bytes after the end")
        except (OSError, asyncio.IncompleteReadError) as e:
            problems.append(f"server: {type(e).__name__}: {e}")
        finally:
            writer.close()
            done.set_result(None)

    async def client(seed: int) -> None:
        sock = _small_buffer(socket.socket())
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", front.port))
        reader, writer = await asyncio.open_connection(
            sock=sock, ssl=client_context, server_hostname="127.0.0.1"
        )
        writer.write(seed.to_bytes(4))
        received = await _exchange(reader, writer, _payload(seed), seed + 1)
        if problem := _mismatch(_payload(seed + 1), received):
            problems.append(f"to the client: {problem}")
        writer.close()
        await writer.wait_closed()

    listener = _small_buffer(socket.create_server(("127.0.0.1", 0)))
    server = await asyncio.start_server(serve, sock=listener, ssl=server_context)
    front = TlsFront(listener.getsockname(), certificates, upstream_tls=upstream_tls)
    try:
        async with server:
            results = await asyncio.gather(
                *(client(first_seed + 2 * i) for i in range(CONNECTIONS)),
                return_exceptions=True,
            )
            # A connection that fails fails the round, as a wrong byte does.
            problems += [f"client: {type(e).__name__}: {e}" for e in results if e is not None]
            await asyncio.gather(*served)
    finally:
        front.close()
    return problems


@pytest.mark.parametrize("upstream_tls", [True, False], ids=["tls-to-tls", "tls-to-plain"])
def test_both_directions_at_once_arrive_byte_for_byte(
    rig_certificates: CertificateFiles, upstream_tls: bool
) -> None:
    for n in range(ROUNDS):
        problems = asyncio.run(_round(rig_certificates, upstream_tls, 1000 * n))
        assert problems == [], f"round {n + 1} of {ROUNDS}"


def _relayed(
    to_server: Callable[[Relay], Pipe],
) -> tuple[socket.socket, socket.socket, threading.Thread]:
    """A client and a server socket, plain, relayed with ``to_server`` for what the client
    sends; and the thread that relays."""
    client, client_end = socket.socketpair()
    server, server_end = socket.socketpair()
    for sock in (client, server):
        sock.settimeout(30)
    relay = Relay(client_end, server_end, to_server, lambda link: passing(link.to_client))
    thread = threading.Thread(target=relay.run, daemon=True)
    thread.start()
    return client, server, thread


def _until_the_end(sock: socket.socket) -> bytes:
    received = b""
    while data := sock.recv(65536):
        received += data
    return received


def test_an_end_reaches_the_other_side_which_may_still_answer() -> None:
    client, server, relaying = _relayed(lambda link: passing(link.to_server))
    client.sendall(b"a question")
    client.shutdown(socket.SHUT_WR)
    assert _until_the_end(server) == b"a question"
    server.sendall(b"the answer")
    server.close()
    assert _until_the_end(client) == b"the answer"
    relaying.join()
    client.close()


def test_a_pipe_that_returns_cuts_both_sides_after_what_it_passed_on() -> None:
    def first_line(link: Relay) -> Pipe:
        buffer = b""
        while b"\n" not in buffer:
            buffer += yield
        link.to_server(buffer[: buffer.index(b"\n") + 1])
        link.to_client(b"cut\r\n")

    client, server, relaying = _relayed(first_line)
    client.sendall(b"one\r\ntwo\r\n")
    assert _until_the_end(server) == b"one\r\n"
    assert _until_the_end(client) == b"cut\r\n"
    relaying.join()
    client.close()
    server.close()
