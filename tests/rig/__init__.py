"""The integration test rig: real mail servers, a test CA and a Secret Service on loopback.

tests/conftest.py builds the session fixtures from these pieces:

- ``test_ca``: the trustme CA that issued the servers' certificate (its PEM is
  ``mail_servers.ca_file``);
- ``mail_servers`` (:class:`MailServers`): Dovecot (IMAPS, IMAP+STARTTLS, and a second
  instance without TLS) and Postfix (SMTPS, submission+STARTTLS, and a listener without
  TLS), users alice, bob, carol and frank (whose password is not ASCII) @example.org, plus
  helpers to put mail in place and read it back;
- ``other_servers`` (:class:`OtherServers`): Dovecots configured like other servers (a
  personal namespace prefix without SPECIAL-USE, lower-case special-use flags, no
  UIDNEXT), started on first use, with users dave and erin of their own;
- ``secret_service`` (:class:`SecretService`): a private D-Bus session bus with
  gnome-keyring, which ``keyring`` and every subprocess then use.
"""

from .ca import CertificateFiles, create_test_ca
from .dovecot import Dovecot, Namespace
from .secret_service import SecretService
from .servers import MailServers, MailUser
from .util import RigError
from .variants import OtherServer, OtherServers

__all__ = [
    "CertificateFiles",
    "Dovecot",
    "MailServers",
    "MailUser",
    "Namespace",
    "OtherServer",
    "OtherServers",
    "RigError",
    "SecretService",
    "create_test_ca",
]
