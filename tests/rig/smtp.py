"""A private Postfix instance: SMTP submission on loopback, delivering into Dovecot.

Postfix runs from its own config directory (``master -c DIR``) with its own queue and data
directories, so it never touches the system instance in /etc/postfix and /var/spool.
Choices that are not Postfix defaults, and why:

- ``master -s`` runs the master in the foreground as our child, so the rig holds its pid
  and can stop it; the usual ``postfix start`` would detach it.
- There is no syslog here, so Postfix logs through postlogd into ``maillog_file``, which
  must lie under a ``maillog_file_prefixes`` entry.
- chroot is off for every service (the chroot jail would need copies of /etc files).
- The queue directories are created here rather than by ``postfix check``: that runs the
  post-install shell script, which costs about a second at every start.
- SMTP AUTH is checked by Dovecot (smtpd_sasl_type = dovecot). The socket path is relative
  to the queue directory (``private/auth``): smtpd runs as the postfix user, which could not
  traverse a pytest temp directory, but its working directory is the queue directory.
- Mail for example.org goes to Dovecot over LMTP; recipients missing from
  virtual_mailbox_maps are refused at RCPT with 550. Nothing is ever relayed elsewhere.
"""

from __future__ import annotations

import grp
import os
import pwd
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

from .ca import CertificateFiles
from .util import (
    ALT_LOOPBACK,
    LOOPBACK,
    PortInUse,
    RigError,
    ServerProcess,
    free_ports,
    wait_until_listening,
)

MASTER = "/usr/lib/postfix/sbin/master"

# (name, owner, group, mode) as in /etc/postfix/postfix-files; None = root.
QUEUE_DIRECTORIES = [
    ("active", "postfix", None, 0o700),
    ("bounce", "postfix", None, 0o700),
    ("corrupt", "postfix", None, 0o700),
    ("defer", "postfix", None, 0o700),
    ("deferred", "postfix", None, 0o700),
    ("flush", "postfix", None, 0o700),
    ("hold", "postfix", None, 0o700),
    ("incoming", "postfix", None, 0o700),
    ("private", "postfix", None, 0o700),
    ("maildrop", "postfix", "postdrop", 0o730),
    ("public", "postfix", "postdrop", 0o710),
    ("pid", None, None, 0o755),
    ("saved", "postfix", None, 0o700),
    ("trace", "postfix", None, 0o700),
]

# The internal services Postfix needs to accept, queue and deliver over LMTP.
INTERNAL_SERVICES = """\
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class Postfix(ServerProcess):
    """Submission with implicit TLS, with STARTTLS, and one listener without TLS at all.

    The ports are chosen once and kept: ``stop()`` then ``start()`` brings the server
    back on the same ports, as a client that queued mail while it was down expects.
    """

    def __init__(
        self,
        directory: Path,
        certs: CertificateFiles,
        recipients: Iterable[str],
    ) -> None:
        self.directory = directory
        self.certs = certs
        self.recipients = list(recipients)
        self.config_dir = directory / "etc"
        self.queue_dir = directory / "spool"
        self.data_dir = directory / "data"
        self.log_file = directory / "postfix.log"
        self.master_output = directory / "master.out"
        self.smtps_port = 0
        self.submission_port = 0
        self.notls_port = 0
        self._create_directories()

    @property
    def auth_socket(self) -> Path:
        """Where Dovecot must create the SASL auth socket for smtpd."""
        return self.queue_dir / "private" / "auth"

    def in_flight(self) -> int:
        """How many accepted messages Postfix has not delivered (or deferred) yet."""
        return sum(
            1
            for name in ("maildrop", "incoming", "active")
            for _, _, files in os.walk(self.queue_dir / name)
            for _ in files
        )

    def _create_directories(self) -> None:
        postfix = pwd.getpwnam("postfix").pw_uid
        postdrop = grp.getgrnam("postdrop").gr_gid
        self.config_dir.mkdir(parents=True)
        self.queue_dir.mkdir(mode=0o755)
        for name, owner, group, mode in QUEUE_DIRECTORIES:
            path = self.queue_dir / name
            path.mkdir()
            os.chown(path, postfix if owner else 0, postdrop if group else 0)
            path.chmod(mode)
        self.data_dir.mkdir(mode=0o700)
        os.chown(self.data_dir, postfix, 0)

    def first_start(self, lmtp_port: int, attempts: int = 3) -> None:
        """Write the config, pick the ports and start; needs Dovecot's LMTP port."""
        self._write_main_cf(lmtp_port)
        for attempt in range(attempts):
            self.smtps_port, self.submission_port, self.notls_port = free_ports(3)
            self._write_master_cf()
            self._check_config()
            try:
                self.start()
                return
            except PortInUse:
                self.stop()
                if attempt == attempts - 1:
                    raise

    def _check_config(self) -> None:
        """Fail with Postfix' own words on a bad main.cf.

        The master reports configuration errors only to syslog (postlogd is not up yet),
        so they would vanish here; postconf prints them on stderr.
        """
        result = subprocess.run(
            ["postconf", "-c", str(self.config_dir), "-n"], capture_output=True, text=True
        )
        if result.returncode != 0 or "warning" in result.stderr:
            raise RigError(f"Postfix configuration rejected:\n{result.stderr}")

    def start(self) -> None:
        """Start (again) on the ports picked by ``first_start``."""
        process = self._spawn([MASTER, "-c", str(self.config_dir), "-s"], self.master_output)
        ports = (self.smtps_port, self.submission_port, self.notls_port)
        endpoints = [(host, port) for port in ports for host in (LOOPBACK, ALT_LOOPBACK)]
        wait_until_listening(process, endpoints, [self.log_file, self.master_output], "Postfix")

    def _write_main_cf(self, lmtp_port: int) -> None:
        maps = self.config_dir / "virtual_mailboxes"
        _write_stable(maps, "".join(f"{address} {address}\n" for address in self.recipients))
        _write_stable(
            self.config_dir / "main.cf",
            f"""\
# Generated by tests/rig/smtp.py for one test session.
compatibility_level = 3.6
queue_directory = {self.queue_dir}
data_directory = {self.data_dir}
mail_owner = postfix
setgid_group = postdrop
maillog_file = {self.log_file}
maillog_file_prefixes = {self.directory}

myhostname = mail.example.org
mydomain = example.org
myorigin = $mydomain
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
# Only for outgoing connections; the listeners in master.cf name their addresses. Not
# 127.0.0.2: Postfix accepts only addresses configured on an interface here.
inet_interfaces = loopback-only
inet_protocols = ipv4
smtpd_banner = $myhostname ESMTP mailclient test rig
biff = no

virtual_mailbox_domains = example.org
virtual_mailbox_maps = texthash:{maps}
virtual_transport = lmtp:inet:{LOOPBACK}:{lmtp_port}
# Belt and braces: whatever is not for example.org can never leave the machine.
default_transport = error:the test rig delivers to example.org only
relay_transport = $default_transport

smtpd_tls_chain_files = {self.certs.key_and_chain_file}
smtpd_tls_security_level = encrypt
smtpd_tls_auth_only = yes
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions = reject_unauth_destination

# Tests want answers and retries now, not after production-grade back-off.
smtpd_error_sleep_time = 0
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 5s
""",
        )

    def _write_master_cf(self) -> None:
        def listeners(port: int, *options: str) -> str:
            args = "".join(f" -o {option}" for option in options)
            return "".join(
                f"{host}:{port} inet n - n - - smtpd{args}\n" for host in (LOOPBACK, ALT_LOOPBACK)
            )

        _write_stable(
            self.config_dir / "master.cf",
            "# Generated by tests/rig/smtp.py for one test session.\n"
            + listeners(self.smtps_port, "smtpd_tls_wrappermode=yes")
            + listeners(self.submission_port)
            # Offers neither STARTTLS nor TLS, but still AUTH: a client that wrongly falls
            # back to plaintext would get through, so a test can catch it.
            + listeners(self.notls_port, "smtpd_tls_security_level=none", "smtpd_tls_auth_only=no")
            + INTERNAL_SERVICES,
        )


def _write_stable(path: Path, text: str) -> None:
    """Write a file Postfix will read, with an mtime safely in the past.

    Postfix re-reads a table or main.cf modified within the last second, 300 ms at a time,
    until it looks stable (dict_load_file); fresh files would cost seconds at start-up.
    """
    path.write_text(text)
    past = time.time() - 60
    os.utime(path, (past, past))
