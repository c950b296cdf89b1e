"""Tested guesses: common server names on the usual ports, each one tried before it is offered.

A guess is offered only when a server there answers in its protocol and completes a TLS
handshake; one whose certificate is not trusted is offered only when no trusted one answered
(the user is then asked about that certificate before any password is sent).
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from mailclient.core.errors import CertificateNotTrusted, MailclientError
from mailclient.discovery.handshake import Endpoint, Protocol, check
from mailclient.discovery.network import Network

HOST_PREFIXES = {Protocol.IMAP: ("imap", "mail"), Protocol.SMTP: ("smtp", "mail")}
_POLL_SECONDS = 0.1


class Cancelled(Exception):
    """The user cancelled the search; nothing more is tried."""


@dataclass(frozen=True)
class Answer:
    endpoint: Endpoint
    trusted: bool  # False: a server answered, but its certificate is not trusted as is


def candidates(domain: str, protocol: Protocol, network: Network) -> list[Endpoint]:
    """In order of preference: implicit TLS before STARTTLS, then by host name."""
    ports = network.imap_guesses if protocol is Protocol.IMAP else network.smtp_guesses
    return [
        Endpoint(protocol, f"{prefix}.{domain}", port, security)
        for port, security in ports
        for prefix in HOST_PREFIXES[protocol]
    ]


def first_answering(
    endpoints: list[Endpoint], network: Network, cancelled: threading.Event
) -> Answer | None:
    """The most preferred endpoint that answered with a trusted certificate, else with any.

    All are tried at once, so the wait is one timeout rather than one per guess.
    """
    if not endpoints:
        return None
    executor = ThreadPoolExecutor(max_workers=len(endpoints), thread_name_prefix="guess")
    try:
        futures = [executor.submit(check, endpoint, network) for endpoint in endpoints]
        untrusted: Answer | None = None
        for endpoint, future in zip(endpoints, futures, strict=True):
            try:
                _wait(future, cancelled)
            except CertificateNotTrusted:
                untrusted = untrusted or Answer(endpoint, trusted=False)
                continue
            except MailclientError:
                continue
            return Answer(endpoint, trusted=True)
        return untrusted
    finally:
        # Checks still running end on their own within the network timeout.
        executor.shutdown(wait=False, cancel_futures=True)


def _wait(future: Future[None], cancelled: threading.Event) -> None:
    while True:
        if cancelled.is_set():
            raise Cancelled
        try:
            future.result(timeout=_POLL_SECONDS)
            return
        except FutureTimeout:
            continue
