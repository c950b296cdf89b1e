"""A password that is not ASCII signs in to the rig's Dovecot (IMAP LOGIN) and Postfix
(SMTP AUTH through Dovecot's SASL), over every security the account can choose."""

from __future__ import annotations

import logging

import pytest

from mailclient.accounts.model import Account, Security
from mailclient.accounts.signin import FixedPassword
from mailclient.core.errors import AuthenticationFailed
from mailclient.imap import client as imap_client
from mailclient.smtp import client as smtp_client
from tests.integration.imap_helpers import account as rig_account
from tests.integration.test_protocol_log import secret_forms
from tests.rig import MailServers

USER = "frank"


def frank(servers: MailServers, security: Security) -> Account:
    ssl = security is Security.SSL
    return rig_account(
        servers,
        USER,
        servers.imaps_port if ssl else servers.imap_port,
        name="frank",
        imap_security=security,
        smtp_port=servers.smtps_port if ssl else servers.submission_port,
        smtp_security=security,
    )


def test_the_rig_gives_frank_a_password_that_is_not_ascii(mail_servers: MailServers) -> None:
    assert not mail_servers.user(USER).password.isascii()


@pytest.mark.parametrize("security", [Security.SSL, Security.STARTTLS])
def test_imap_login_with_a_password_that_is_not_ascii(
    mail_servers: MailServers, security: Security, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    password = mail_servers.user(USER).password
    client = imap_client.open_client(frank(mail_servers, security), FixedPassword(password))
    try:
        assert client.list_folders()
    finally:
        client.logout()
    assert "LOGIN" in caplog.text
    assert not any(form in caplog.text for form in secret_forms(password))


def test_imap_a_wrong_password_that_is_not_ascii_is_refused(mail_servers: MailServers) -> None:
    with pytest.raises(AuthenticationFailed, match="rejected the password"):
        imap_client.open_client(frank(mail_servers, Security.SSL), FixedPassword("fränk-€"))


@pytest.mark.parametrize("security", [Security.SSL, Security.STARTTLS])
def test_smtp_auth_with_a_password_that_is_not_ascii(
    mail_servers: MailServers, security: Security, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    password = mail_servers.user(USER).password
    smtp = smtp_client.open_smtp(frank(mail_servers, security), FixedPassword(password))
    smtp.quit()
    assert "AUTH PLAIN <redacted>" in caplog.text
    assert not any(form in caplog.text for form in secret_forms(password))


def test_smtp_a_wrong_password_that_is_not_ascii_is_refused(mail_servers: MailServers) -> None:
    with pytest.raises(AuthenticationFailed, match="rejected the password"):
        smtp_client.open_smtp(frank(mail_servers, Security.SSL), FixedPassword("fränk-€"))
