"""A real Secret Service for ``keyring``: a private D-Bus session bus and gnome-keyring.

The bus uses its own config (no service activation, so nothing else gets started behind
our back) and a socket in the session directory; gnome-keyring gets its own HOME,
XDG_DATA_HOME and XDG_RUNTIME_DIR there, and unlocks (creating it on first use) a "login"
keyring with a password fed on stdin, so no prompt ever appears. Setting
DBUS_SESSION_BUS_ADDRESS in ``os.environ`` lets this process and every subprocess a test
starts (the app itself, in end-to-end tests) find it.

Both daemons run in the foreground as our children (``--nofork`` / ``--foreground``
rather than ``--fork``) so that stopping them is a matter of their pid, not a search.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from pathlib import Path

import keyring
import keyring.backend
import keyring.core
import secretstorage
from keyring.backends import SecretService as SecretServiceBackend

from .util import RigError, stop_process_group, tail

KEYRING_PASSWORD = "rig-login-keyring"

BUS_CONFIG = """\
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={socket_dir}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


class SecretService:
    """What the ``secret_service`` fixture yields; ``env`` is what subprocesses need."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.home = directory / "home"
        self.data_home = directory / "data"
        self.runtime_dir = directory / "runtime"
        self.bus_address = ""
        self._bus: subprocess.Popen[bytes] | None = None
        self._keyring: subprocess.Popen[bytes] | None = None
        self._saved_environ: str | None = None
        self._saved_backend: keyring.backend.KeyringBackend | None = None

    @property
    def env(self) -> dict[str, str]:
        return {"DBUS_SESSION_BUS_ADDRESS": self.bus_address}

    def start(self, timeout: float = 10.0) -> None:
        # Saved first, so that stop() restores them however far start() got. Asking for
        # the backend now also fixes keyring's choice as it was before the bus existed.
        self._saved_environ = os.environ.get("DBUS_SESSION_BUS_ADDRESS")
        self._saved_backend = keyring.get_keyring()
        for path in (self.home, self.data_home, self.runtime_dir):
            path.mkdir(parents=True, mode=0o700)
        config = self.directory / "bus.conf"
        config.write_text(BUS_CONFIG.format(socket_dir=self.runtime_dir))
        with (self.directory / "dbus.log").open("wb") as log:
            self._bus = subprocess.Popen(
                ["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address=1"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,
            )
        assert self._bus.stdout is not None
        self.bus_address = self._bus.stdout.readline().decode().strip()
        self._bus.stdout.close()
        if not self.bus_address:
            raise RigError(f"dbus-daemon printed no address\n{tail(self.directory / 'dbus.log')}")

        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.home),
            "XDG_DATA_HOME": str(self.data_home),
            "XDG_RUNTIME_DIR": str(self.runtime_dir),
            **self.env,
        }
        with (self.directory / "gnome-keyring.log").open("wb") as log:
            self._keyring = subprocess.Popen(
                ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=log,
                env=env,
                start_new_session=True,
            )
        assert self._keyring.stdin is not None
        self._keyring.stdin.write(KEYRING_PASSWORD.encode())
        self._keyring.stdin.close()

        os.environ.update(self.env)
        self._wait_for_service(timeout)
        # keyring detects the usable backends once per process and caches the result;
        # what it found before the bus existed (the "fail" backend, typically) must not
        # stick. Detecting again, as the app will, also proves the detection works.
        with contextlib.suppress(KeyError):  # KeyError: nothing cached yet
            keyring.backend.get_all_keyring.reset()
        keyring.core.init_backend()
        self._check_round_trip()

    def _wait_for_service(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self._keyring is not None
            if self._keyring.poll() is not None:
                raise RigError(
                    f"gnome-keyring-daemon exited\n{tail(self.directory / 'gnome-keyring.log')}"
                )
            with contextlib.closing(secretstorage.dbus_init()) as connection:
                if secretstorage.check_service_availability(connection):
                    return
            if time.monotonic() > deadline:
                raise RigError("org.freedesktop.secrets did not appear on the test bus")
            time.sleep(0.02)

    def _check_round_trip(self) -> None:
        backend = keyring.get_keyring()
        if not isinstance(backend, SecretServiceBackend.Keyring):
            raise RigError(f"keyring chose {backend!r}, not the Secret Service")
        keyring.set_password("mailclient-rig", "probe", "secret")
        if keyring.get_password("mailclient-rig", "probe") != "secret":
            raise RigError("the Secret Service did not give back what was stored")
        keyring.delete_password("mailclient-rig", "probe")

    def stop(self) -> None:
        for process in (self._keyring, self._bus):
            if process is not None:
                stop_process_group(process)
        self._keyring = self._bus = None
        if self._saved_environ is None:
            os.environ.pop("DBUS_SESSION_BUS_ADDRESS", None)
        else:
            os.environ["DBUS_SESSION_BUS_ADDRESS"] = self._saved_environ
        if self._saved_backend is not None:
            keyring.set_keyring(self._saved_backend)
            self._saved_backend = None
