"""Session fixtures shared by every test folder: the test CA, real mail servers on loopback
and a real Secret Service (see tests/rig/).

Nothing starts unless a test asks for it, so unit tests stay fast and need no servers.
The mail servers need root (a system user for the mail, Postfix and Dovecot masters) and
the Debian packages dovecot-imapd, dovecot-lmtpd, postfix, gnome-keyring and dbus
(tools/run-tests installs them); where they are missing, the tests that need them fail
with a message saying what to install: a skip would hide a broken rig.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
import trustme
from hypothesis import settings

from tests.rig import (
    CertificateFiles,
    MailServers,
    OtherServers,
    SecretService,
    create_test_ca,
)
from tests.rig.servers import USER_NAMES
from tests.support import alone

# Property-based tests run the same examples on every run, kept nowhere: a run fails on
# what changed, never on an example drawn for the first time (a test module may search
# further on request, as tests/unit/test_imap_wire_fuzz.py does).
settings.register_profile("suite", derandomize=True, database=None)
settings.load_profile("suite")

MAIL_SERVER_TOOLS = ("dovecot", "doveadm", "doveconf", "postconf", "useradd")
SECRET_SERVICE_TOOLS = ("dbus-daemon", "gnome-keyring-daemon")


def _require(tools: tuple[str, ...], needs_root: bool) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    reason = ""
    if missing:
        reason = f"the test rig needs {', '.join(missing)} (see tests/conftest.py)"
    elif needs_root and os.geteuid() != 0:
        reason = "the mail server rig runs Dovecot and Postfix and must run as root"
    if reason:
        pytest.fail(reason)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``slow`` first: parallel workers hand out tests in this order, and one
    that starts late would keep the whole run waiting for it."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(autouse=True)
def _alone_when_marked(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """Parallel workers (pytest-xdist) run an ``alone`` test while no other test runs."""
    if not hasattr(request.config, "workerinput"):  # no workers: one test at a time anyway
        yield
        return
    # Each worker's basetemp is a folder of the run's own, shared by all its workers.
    shared = tmp_path_factory.getbasetemp().parent
    with alone.turn(shared, request.node.get_closest_marker("alone") is not None):
        yield


@pytest.fixture(scope="session")
def rig_certificates(tmp_path_factory: pytest.TempPathFactory) -> CertificateFiles:
    """The test CA and the servers' certificate for localhost, 127.0.0.1 and 127.0.0.2."""
    return create_test_ca(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def test_ca(rig_certificates: CertificateFiles) -> trustme.CA:
    return rig_certificates.ca


@pytest.fixture(scope="session")
def mail_servers(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    rig_certificates: CertificateFiles,
) -> MailServers:
    _require(MAIL_SERVER_TOOLS, needs_root=True)
    servers = MailServers(rig_certificates)

    def tear_down() -> None:
        try:
            servers.stop()
        finally:
            servers.save_logs(tmp_path_factory.mktemp("mail-server-logs"))
            servers.remove_files()

    # A finalizer rather than yield: registered before start(), it also cleans up after
    # a start that failed half-way.
    request.addfinalizer(tear_down)
    servers.start()
    return servers


@pytest.fixture
def servers(request: pytest.FixtureRequest, mail_servers: MailServers) -> MailServers:
    """The session's mail servers, with every user's mail reset for this test.

    A module whose tests use fewer users names them, ``pytestmark =
    pytest.mark.mail_users("carol")``: each reset costs a few doveadm runs. A module that
    puts mail in place for each test overrides this fixture and asks for it by its name.
    """
    marker = request.node.get_closest_marker("mail_users")
    for user in marker.args if marker is not None else USER_NAMES:
        mail_servers.reset_user(user)
    return mail_servers


@pytest.fixture(scope="session")
def other_servers(mail_servers: MailServers) -> Iterator[OtherServers]:
    """Dovecots configured like other IMAP servers (tests/rig/variants.py)."""
    others = OtherServers(mail_servers)
    yield others
    others.close()


@pytest.fixture(scope="session")
def secret_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecretService]:
    """A running Secret Service on a private bus; ``keyring`` uses it from now on, and so
    does every subprocess (DBUS_SESSION_BUS_ADDRESS is set in os.environ)."""
    _require(SECRET_SERVICE_TOOLS, needs_root=False)
    service = SecretService(tmp_path_factory.mktemp("secret-service"))
    try:
        service.start()
        yield service
    finally:
        service.stop()
