"""A connection cut during sign-in is a network failure, retried; only a refusal by the
server means a wrong password (real Dovecot and Postfix behind a proxy that cuts LOGIN)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mailclient.accounts.model import Account, Security
from mailclient.accounts.signin import FixedPassword
from mailclient.core.errors import AuthenticationFailed, CannotConnect
from mailclient.imap import client as imap_client
from mailclient.smtp import client as smtp_client
from tests.integration.imap_helpers import account as rig_account
from tests.integration.sign_in_proxy import SignInProxy
from tests.integration.test_accounts_cli import Run, add, runner
from tests.rig import MailServers


@pytest.fixture
def imap_proxy(mail_servers: MailServers) -> Iterator[SignInProxy]:
    proxy = SignInProxy((mail_servers.host, mail_servers.imaps_port), mail_servers.certs)
    yield proxy
    proxy.close()


@pytest.fixture
def smtp_proxy(mail_servers: MailServers) -> Iterator[SignInProxy]:
    proxy = SignInProxy((mail_servers.host, mail_servers.smtps_port), mail_servers.certs)
    yield proxy
    proxy.close()


def behind(servers: MailServers, imap: SignInProxy, smtp: SignInProxy) -> Account:
    return rig_account(
        servers, "alice", imap.port, name="work", smtp_port=smtp.port, smtp_security=Security.SSL
    )


def test_imap_login_cut_off_is_a_network_failure(
    mail_servers: MailServers, imap_proxy: SignInProxy, smtp_proxy: SignInProxy
) -> None:
    account = behind(mail_servers, imap_proxy, smtp_proxy)
    password = mail_servers.user("alice").password
    imap_proxy.cut_sign_ins = 1
    with pytest.raises(CannotConnect) as cut:
        imap_client.open_client(account, FixedPassword(password))
    assert cut.value.transient
    assert "broke while logging in" in str(cut.value)
    assert "rejected" not in str(cut.value)
    assert imap_proxy.cuts == 1
    imap_client.open_client(
        account, FixedPassword(password)
    ).logout()  # the next attempt gets through


def test_imap_login_refused_for_now_is_a_network_failure(
    mail_servers: MailServers, imap_proxy: SignInProxy, smtp_proxy: SignInProxy
) -> None:
    # What Dovecot answers while its authentication service is down (RFC 5530).
    imap_proxy.answer = b"{tag} NO [UNAVAILABLE] Temporary authentication failure.\r\n"
    with pytest.raises(CannotConnect, match="cannot check passwords at the moment"):
        imap_client.open_client(
            behind(mail_servers, imap_proxy, smtp_proxy),
            FixedPassword(mail_servers.user("alice").password),
        )


def test_imap_wrong_password_is_the_servers_refusal(
    mail_servers: MailServers, imap_proxy: SignInProxy, smtp_proxy: SignInProxy
) -> None:
    with pytest.raises(AuthenticationFailed) as refused:
        imap_client.open_client(
            behind(mail_servers, imap_proxy, smtp_proxy), FixedPassword("wrong")
        )
    assert "rejected the password for alice@example.org" in str(refused.value)
    assert "[AUTHENTICATIONFAILED]" in str(refused.value)
    assert not refused.value.transient


def test_smtp_auth_cut_off_or_deferred_is_a_network_failure_535_is_not(
    mail_servers: MailServers, imap_proxy: SignInProxy, smtp_proxy: SignInProxy
) -> None:
    account = behind(mail_servers, imap_proxy, smtp_proxy)
    password = mail_servers.user("alice").password
    smtp_proxy.cut_sign_ins = 1
    with pytest.raises(CannotConnect) as cut:
        smtp_client.open_smtp(account, FixedPassword(password))
    assert cut.value.transient and smtp_proxy.cuts == 1

    smtp_proxy.answer = b"454 4.7.0 Temporary authentication failure\r\n"
    with pytest.raises(CannotConnect, match=r"454 4\.7\.0"):
        smtp_client.open_smtp(account, FixedPassword(password))

    smtp_proxy.answer = None
    with pytest.raises(AuthenticationFailed, match="535"):
        smtp_client.open_smtp(account, FixedPassword("wrong"))
    smtp_client.open_smtp(account, FixedPassword(password)).quit()


@pytest.fixture
def cli(tmp_path: Path, secret_service: object) -> Iterator[Run]:
    run = runner(tmp_path / "profile")
    yield run
    run("account", "remove", "work")


def add_behind(cli: Run, servers: MailServers, imap: SignInProxy, smtp: SignInProxy) -> None:
    added = add(
        cli,
        servers,
        "work",
        "alice",
        **{
            "--imap-port": str(imap.port),
            "--smtp-port": str(smtp.port),
            "--smtp-security": "ssl",
        },
    )
    assert added.returncode == 0, added.stderr


def test_sync_tries_again_after_a_login_cut_off(
    cli: Run, mail_servers: MailServers, imap_proxy: SignInProxy, smtp_proxy: SignInProxy
) -> None:
    add_behind(cli, mail_servers, imap_proxy, smtp_proxy)
    imap_proxy.cut_sign_ins = 1
    synced = cli("sync", "work", "--folder", "INBOX")
    assert synced.returncode == 0, synced.stderr
    assert "work/INBOX:" in synced.stdout
    assert "rejected" not in synced.stderr
    assert imap_proxy.cuts == 1 and imap_proxy.sign_ins == 2


@pytest.mark.slow
def test_account_test_tries_again_and_says_what_happened(
    cli: Run, mail_servers: MailServers, imap_proxy: SignInProxy, smtp_proxy: SignInProxy
) -> None:
    add_behind(cli, mail_servers, imap_proxy, smtp_proxy)
    imap_proxy.cut_sign_ins = smtp_proxy.cut_sign_ins = 1
    tested = cli("account", "test", "work")
    assert tested.returncode == 0, tested.stderr
    assert tested.stdout.count("logged in as alice@example.org") == 2
    assert imap_proxy.cuts == smtp_proxy.cuts == 1

    # Cut every time: a network failure, said as one, and no advice to change the password.
    imap_proxy.cut_sign_ins = smtp_proxy.cut_sign_ins = 100
    tested = cli("account", "test", "work")
    assert tested.returncode == 1
    assert "IMAP: The connection to the IMAP server" in tested.stderr
    assert "broke while logging in" in tested.stderr
    assert "SMTP: The connection to the SMTP server" in tested.stderr
    assert "rejected" not in tested.stderr
    assert "account password" not in tested.stderr
    assert imap_proxy.cuts == smtp_proxy.cuts == 1 + 3


@pytest.mark.slow
def test_send_keeps_the_message_when_auth_is_cut_and_fails_it_on_535(
    cli: Run, mail_servers: MailServers, imap_proxy: SignInProxy, smtp_proxy: SignInProxy
) -> None:
    add_behind(cli, mail_servers, imap_proxy, smtp_proxy)
    smtp_proxy.cut_sign_ins = 1
    send = ("send", "--account", "work", "--to", "bob@example.org", "--subject", "Cut")
    sent = cli(*send, stdin="Sent after a cut.\n")
    assert sent.returncode == 75, sent.stderr
    assert "is not sent yet: The connection to the SMTP server" in sent.stderr
    flushed = cli("outbox", "flush")
    assert flushed.returncode == 0, flushed.stderr
    assert "was accepted for bob@example.org" in flushed.stdout

    wrong = cli("account", "password", "work", "--service", "smtp", "--password-stdin", stdin="x\n")
    assert wrong.returncode == 0
    refused = cli(*send, stdin="Refused.\n")
    assert refused.returncode == 1
    assert "was refused: The SMTP server 127.0.0.1 rejected the password" in refused.stderr
    assert "(535 " in refused.stderr
