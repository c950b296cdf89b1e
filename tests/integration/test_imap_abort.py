"""AbortSwitch: a connection blocked on a silent server is cut from another thread."""

from __future__ import annotations

import threading
import time

import pytest

from mailclient.accounts.model import Account, Security
from mailclient.accounts.signin import FixedPassword
from mailclient.core.abort import AbortSwitch
from mailclient.core.errors import CannotConnect
from mailclient.imap.client import open_client
from tests.support.silent_server import SilentServer

GUARD_S = 60  # only against hanging forever


@pytest.mark.parametrize("security", [Security.SSL, Security.STARTTLS])
def test_trip_ends_a_blocked_login_and_refuses_new_connections(security: Security) -> None:
    with SilentServer() as server:
        account = Account(
            name="silent",
            email="a@example.org",
            imap_host="127.0.0.1",
            imap_port=server.port,
            imap_security=security,
            smtp_host="127.0.0.1",
        )
        abort = AbortSwitch()
        errors: list[BaseException] = []

        def log_in() -> None:
            try:
                open_client(account, FixedPassword("secret"), timeout=600, abort=abort)
            except BaseException as error:
                errors.append(error)

        thread = threading.Thread(target=log_in)
        thread.start()
        while server.open_connections() == 0 and thread.is_alive():
            thread.join(0.05)
        abort.trip()
        thread.join(GUARD_S)
        assert not thread.is_alive()
        waited = 0
        assert len(errors) == 1 and isinstance(errors[0], CannotConnect), errors
        while server.closed_by_client == 0 and (waited := waited + 1) < GUARD_S * 20:
            time.sleep(0.05)
        assert server.closed_by_client == server.accepted == 1
        # Watching stopped with the connection: nothing is left open.
        assert abort._watched == {}
        with pytest.raises(ConnectionAbortedError):
            abort.connect("127.0.0.1", server.port, 600)
