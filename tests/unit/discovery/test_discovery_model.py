"""SRV record choice, guess order, and what a discovery says and fills in."""

from __future__ import annotations

import threading

from mailclient.accounts.model import Account, Security
from mailclient.discovery import Discovery, FoundServer, Method, Network, SrvRecord, discover
from mailclient.discovery.guess import candidates
from mailclient.discovery.handshake import Protocol
from mailclient.discovery.srv import IMAP_SERVICES, SMTP_SERVICES, lookup


def _srv(table: dict[str, list[SrvRecord]]) -> Network:
    return Network(srv_lookup=lambda name, timeout: table.get(name, []))


def test_srv_prefers_implicit_tls_then_priority_then_weight() -> None:
    network = _srv(
        {
            "_imap._tcp.example.org": [SrvRecord(0, 0, 143, "starttls.example.org")],
            "_imaps._tcp.example.org": [
                SrvRecord(20, 100, 993, "backup.example.org"),
                SrvRecord(10, 1, 993, "light.example.org"),
                SrvRecord(10, 50, 993, "heavy.example.org."),
            ],
        }
    )
    found = lookup("example.org", IMAP_SERVICES, network)
    assert found is not None
    assert (found.host, found.port, found.security) == ("heavy.example.org", 993, Security.SSL)
    assert found.record == "_imaps._tcp.example.org"


def test_srv_dot_target_means_not_offered() -> None:
    network = _srv(
        {
            "_submissions._tcp.example.org": [SrvRecord(0, 0, 0, ".")],
            "_submission._tcp.example.org": [SrvRecord(0, 0, 587, "smtp.example.org")],
        }
    )
    found = lookup("example.org", SMTP_SERVICES, network)
    assert found is not None
    assert (found.host, found.security) == ("smtp.example.org", Security.STARTTLS)
    assert lookup("example.org", IMAP_SERVICES, network) is None


def test_guesses_try_implicit_tls_first_on_every_name() -> None:
    network = Network(imap_guesses=((993, Security.SSL), (143, Security.STARTTLS)))
    order = [(e.host, e.port) for e in candidates("example.org", Protocol.IMAP, network)]
    assert order == [
        ("imap.example.org", 993),
        ("mail.example.org", 993),
        ("imap.example.org", 143),
        ("mail.example.org", 143),
    ]


def test_summary_names_the_method_that_worked() -> None:
    imap = FoundServer("imap.x.org", 993, Security.SSL, Method.AUTOCONFIG, "https://x")
    smtp = FoundServer("smtp.x.org", 587, Security.STARTTLS, Method.AUTOCONFIG, "https://x")
    assert Discovery("a@x.org", imap, smtp).summary() == (
        "Found in the provider's configuration file at https://x."
    )
    guessed = FoundServer("mail.x.org", 465, Security.SSL, Method.GUESS, "tested")
    assert Discovery("a@x.org", imap, guessed).summary() == (
        "Incoming server found in the provider's configuration file at https://x; "
        "outgoing server found by trying common server names: mail.x.org:465 answered."
    )
    assert (
        Discovery("a@x.org", imap, None)
        .summary()
        .endswith("no outgoing server found. Enter the missing one below.")
    )
    assert "No settings" in Discovery("a@x.org").summary()


def test_apply_fills_servers_and_username() -> None:
    imap = FoundServer("imap.x.org", 143, Security.STARTTLS, Method.SRV, "_imap._tcp.x.org")
    draft = Account(name="a@x.org", email="a@x.org", imap_host="", smtp_host="")
    account = Discovery("a@x.org", imap, None, username="a").apply(draft)
    assert (account.imap_host, account.imap_port, account.imap_security) == (
        "imap.x.org",
        143,
        Security.STARTTLS,
    )
    assert account.smtp_host == ""
    assert account.username == "a"
    assert Discovery("a@x.org", imap, None, username="a@x.org").apply(draft).username == ""


def test_cancel_stops_before_the_next_method() -> None:
    cancelled = threading.Event()
    steps = []

    def report(step: object) -> None:
        steps.append(step)
        cancelled.set()

    network = Network(srv_lookup=lambda name, timeout: [])
    try:
        discover("a@unknown.example", network=network, report=report, cancelled=cancelled)
    except Exception as error:
        assert type(error).__name__ == "Cancelled"
    else:
        raise AssertionError("discover() went on after Cancel")
    assert {s.method for s in steps} == {Method.PROVIDERS}  # type: ignore[attr-defined]
