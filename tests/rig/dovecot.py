"""Private Dovecot instances on loopback, from a config written into the session directory.

Each instance has its own base_dir (sockets, pid file), state_dir and log file, so it never
meets the system Dovecot nor another engineer's test run. Users come from a passwd-file
shared by all instances of a session; mail is kept in Maildir owned by the ``vmail``
system user, because Dovecot refuses to run mail processes as root.

About STARTTLS tests and 127.0.0.2: Dovecot counts a connection as secured when the client
address equals the server address (and for TLS or login_trusted_networks), and then allows
plaintext LOGIN without TLS. A client on 127.0.0.1 talking to 127.0.0.1 is therefore
"secure"; tests that must prove the server demands STARTTLS connect to 127.0.0.2. Checked
on Debian 12 (kernel route ``local 127.0.0.0/8 ... src 127.0.0.1``): a socket connecting
to 127.0.0.2 without binding gets the source address 127.0.0.1, not 127.0.0.2, so Dovecot
sees 127.0.0.1 -> 127.0.0.2 and refuses LOGIN before STARTTLS (test_rig checks this).
"""

from __future__ import annotations

import grp
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .ca import CertificateFiles
from .util import (
    ALT_LOOPBACK,
    LOOPBACK,
    PortInUse,
    RigError,
    ServerProcess,
    free_ports,
    tail,
    wait_until_listening,
)

VMAIL_USER = "vmail"
SPECIAL_FOLDERS = {
    "Sent": r"\Sent",
    "Drafts": r"\Drafts",
    "Trash": r"\Trash",
    "Junk": r"\Junk",
    "Archive": r"\Archive",
}
FOLDER_SEPARATOR = "/"


@dataclass(frozen=True)
class Namespace:
    """The personal namespace an instance shows (RFC 2342) and the folders it creates.

    ``folders`` pairs each folder's name (below the prefix) with the special-use flag the
    server announces for it in LIST (RFC 6154), written as the server should send it, or
    None for a server that announces none.
    """

    prefix: str = ""
    separator: str = FOLDER_SEPARATOR
    folders: tuple[tuple[str, str | None], ...] = tuple(SPECIAL_FOLDERS.items())

    def full_name(self, name: str) -> str:
        """``name`` as a client sees it: INBOX as it is, other folders with the prefix."""
        return name if name.upper() == "INBOX" else self.prefix + name


STANDARD_NAMESPACE = Namespace()


@dataclass(frozen=True)
class Vmail:
    uid: int
    gid: int


def ensure_vmail_user() -> Vmail:
    """Return the ids of the ``vmail`` system user, creating it if it does not exist yet."""
    try:
        entry = pwd.getpwnam(VMAIL_USER)
    except KeyError:
        # Another test session may create it at the same moment; then useradd fails with
        # "already exists" and the second lookup below still succeeds.
        subprocess.run(
            [
                "useradd",
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/nonexistent",
                "--shell",
                "/usr/sbin/nologin",
                VMAIL_USER,
            ],
            check=False,
            capture_output=True,
        )
        entry = pwd.getpwnam(VMAIL_USER)
    return Vmail(entry.pw_uid, entry.pw_gid)


@dataclass(frozen=True)
class MailStorage:
    """What every Dovecot instance of a session shares: the users and their mail."""

    users_file: Path  # passwd-file: user:{PLAIN}password:uid:gid::home
    mail_root: Path  # <mail_root>/<domain>/<user>/Maildir
    vmail: Vmail

    @property
    def mail_location(self) -> str:
        return f"maildir:{self.mail_root}/%d/%n/Maildir"

    def write_users(self, users: dict[str, str]) -> None:
        """Write the passwd-file for ``{address: password}``."""
        lines = []
        for address, password in users.items():
            local, domain = address.split("@")
            home = self.mail_root / domain / local
            lines.append(
                f"{address}:{{PLAIN}}{password}:{self.vmail.uid}:{self.vmail.gid}::{home}::\n"
            )
        self.users_file.write_text("".join(lines), encoding="utf-8")
        # The auth process runs as the "dovecot" user and must read it; nobody else may.
        shutil.chown(self.users_file, "root", grp.getgrnam("dovecot").gr_gid)
        self.users_file.chmod(0o640)


class Dovecot(ServerProcess):
    """One Dovecot instance: IMAPS and IMAP (STARTTLS) on 127.0.0.1 and 127.0.0.2.

    ``extra_config`` is appended at the end of the generated config, so it overrides what
    comes before (later settings win, sections merge). With ``ssl = no`` in it, the
    instance has no IMAPS listener (``imaps_port`` is None) and offers no STARTTLS.
    """

    def __init__(
        self,
        directory: Path,
        storage: MailStorage,
        certs: CertificateFiles,
        *,
        extra_config: str = "",
        with_lmtp: bool = False,
        auth_listener: Path | None = None,
        namespace: Namespace = STANDARD_NAMESPACE,
        oauth_introspection: str | None = None,
    ) -> None:
        self.directory = directory
        self.storage = storage
        self.certs = certs
        self.extra_config = extra_config
        self.with_lmtp = with_lmtp
        self.auth_listener = auth_listener
        self.namespace = namespace
        self.oauth_introspection = oauth_introspection
        self.oauth_file = directory / "oauth2.conf.ext"
        self.config_file = directory / "dovecot.conf"
        self.log_file = directory / "dovecot.log"
        self.stderr_file = directory / "dovecot.stderr"
        self.imaps_port: int | None = None
        self.imap_port = 0
        self.lmtp_port: int | None = None

    def start(self, attempts: int = 3) -> None:
        for attempt in range(attempts):
            try:
                self._start_once()
                return
            except PortInUse:
                self.stop()
                if attempt == attempts - 1:
                    raise

    def _start_once(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        imaps, imap, lmtp = free_ports(3)
        self.imap_port = imap
        self.lmtp_port = lmtp if self.with_lmtp else None
        self.imaps_port = imaps
        if self.oauth_introspection:
            self._write_oauth_file(self.oauth_introspection)
        self.config_file.write_text(self._render_config())
        # Whether TLS is on depends on extra_config; ask Dovecot instead of parsing it.
        if self.doveconf("ssl") == "no":
            self.imaps_port = None
            self.config_file.write_text(self._render_config())
        process = self._spawn(["dovecot", "-F", "-c", str(self.config_file)], self.stderr_file)
        endpoints = [
            (host, port) for port in self._imap_ports() for host in (LOOPBACK, ALT_LOOPBACK)
        ]
        if self.lmtp_port:
            endpoints.append((LOOPBACK, self.lmtp_port))
        wait_until_listening(process, endpoints, [self.log_file, self.stderr_file], "Dovecot")

    def _imap_ports(self) -> list[int]:
        return [port for port in (self.imaps_port, self.imap_port) if port]

    def doveconf(self, setting: str) -> str:
        """The effective value of ``setting``; also how a bad config shows up first."""
        result = subprocess.run(
            ["doveconf", "-c", str(self.config_file), "-h", setting],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise RigError(f"Dovecot rejected {self.config_file}:\n{result.stderr}")
        return result.stdout.strip()

    def doveadm(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``doveadm`` against this instance (it finds the auth socket via base_dir)."""
        result = subprocess.run(
            ["doveadm", "-c", str(self.config_file), *args],
            capture_output=True,
            text=True,
        )
        if check and result.returncode != 0:
            raise RigError(
                f"doveadm {' '.join(args)} failed with status {result.returncode}:\n"
                f"{result.stderr}\n{tail(self.log_file)}"
            )
        return result

    def _write_oauth_file(self, introspection: str) -> None:
        """Dovecot 2.3's oauth2 passdb: a token is good when the authorization server's
        introspection endpoint (RFC 7662) calls it active and names the user who signs in.
        (Its userinfo endpoint would do too, but Dovecot takes any refusal from there for
        a temporary failure.)"""
        self.oauth_file.write_text(
            f"introspection_mode = post\nintrospection_url = {introspection}\n"
            "username_attribute = sub\nactive_attribute = active\nactive_value = true\n"
        )
        shutil.chown(self.oauth_file, "root", grp.getgrnam("dovecot").gr_gid)
        self.oauth_file.chmod(0o640)

    def _render_config(self) -> str:
        d = self.directory
        addresses = f"{LOOPBACK}, {ALT_LOOPBACK}"
        mailboxes = "\n".join(
            f'  mailbox "{name}" {{\n'
            + (f"    special_use = {flag}\n" if flag else "")
            + "    auto = subscribe\n  }"
            for name, flag in self.namespace.folders
        )
        prefix = f"  prefix = {self.namespace.prefix}\n" if self.namespace.prefix else ""
        imaps_listener = (
            f"  inet_listener imaps {{\n    address = {addresses}\n"
            f"    port = {self.imaps_port}\n    ssl = yes\n  }}"
            if self.imaps_port
            else ""
        )
        lmtp = (
            f"service lmtp {{\n  inet_listener lmtp {{\n    address = {LOOPBACK}\n"
            f"    port = {self.lmtp_port}\n  }}\n}}\n"
            if self.lmtp_port
            else ""
        )
        auth_listener = (
            # Postfix asks this socket to check SMTP AUTH (smtpd_sasl_type = dovecot).
            f"  unix_listener {self.auth_listener} {{\n"
            f"    mode = 0660\n    user = postfix\n    group = postfix\n  }}\n"
            if self.auth_listener
            else ""
        )
        oauth_passdb = (
            # Only for the token mechanisms: a wrong password never reaches it, and a
            # token never reaches the passwd-file.
            f"passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n"
            f"  args = {self.oauth_file}\n}}"
            if self.oauth_introspection
            else ""
        )
        return f"""\
# Generated by tests/rig/dovecot.py for one test session.
instance_name = {d.parent.name}-{d.name}
# The session directory's name makes process titles unique: pgrep -f mailclient-rig-XXXX
base_dir = {d}/run
state_dir = {d}/state
log_path = {self.log_file}
auth_verbose = yes

protocols = imap{" lmtp" if self.lmtp_port else ""}
listen = {LOOPBACK}
hostname = mail.example.org
postmaster_address = postmaster@example.org

ssl = yes
ssl_cert = <{self.certs.cert_file}
ssl_key = <{self.certs.key_file}
# The default: no plaintext authentication unless the connection is secured (TLS, or
# client ip == server ip, see the module docstring).
disable_plaintext_auth = yes
auth_mechanisms = plain login{" xoauth2 oauthbearer" if self.oauth_introspection else ""}
# Production servers answer a wrong password after 2 s; 0 brings it down to Dovecot
# 2.3's minimum, the next tick of its 500 ms failure timer. (The passdb field "nodelay"
# would skip even that, but passwd-file returns no fields for a wrong password.)
auth_failure_delay = 0

first_valid_uid = {self.storage.vmail.uid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.storage.users_file}
  mechanisms = plain login
}}
{oauth_passdb}
userdb {{
  driver = passwd-file
  args = username_format=%u {self.storage.users_file}
}}

mail_location = {self.storage.mail_location}
# Tests throw the mail away afterwards; skipping fsync makes delivery and APPEND faster.
mail_fsync = never
namespace inbox {{
  inbox = yes
{prefix}  separator = {self.namespace.separator}
{mailboxes}
}}

protocol imap {{
  # Tests open many connections at once (worker, IDLE, helpers).
  mail_max_userip_connections = 100
}}

service imap-login {{
  inet_listener imap {{
    address = {addresses}
    port = {self.imap_port}
  }}
{imaps_listener}
}}
{lmtp}
service auth {{
{auth_listener}}}

# Dovecot slows down repeated login failures from one IP, up to 15 s each; the tests
# fail logins on purpose, all from 127.0.0.1. Without this socket there is no penalty.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}

# extra_config
{self.extra_config}
"""
