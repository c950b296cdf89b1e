"""What mailclient.smtp.client relies on in smtplib beyond its documented interface."""

from __future__ import annotations

import base64
import smtplib

import pytest


class ChallengingServer(smtplib.SMTP):
    """Answers every AUTH step with a challenge until ``rounds`` were sent, then refuses."""

    def __init__(self, rounds: int) -> None:
        super().__init__()
        self.rounds = rounds
        self.sent = 0

    def docmd(self, cmd: str, args: str = "") -> tuple[int, bytes]:
        self.sent += 1
        if self.sent % (self.rounds + 1):
            return 334, base64.b64encode(b"more")
        return 535, b"5.7.8 Authentication failed"


def test_a_second_auth_on_one_connection_counts_its_challenges_afresh() -> None:
    """The sign-in asks for a new password after a refusal and sends AUTH again on the same
    connection; smtplib must not count the first attempt's challenges against it (it
    stops after five in a row as a loop)."""
    smtp = ChallengingServer(rounds=4)
    for _ in range(3):
        with pytest.raises(smtplib.SMTPAuthenticationError):
            smtp.auth("LOGIN", lambda challenge=None: "x", initial_response_ok=False)
    assert smtp.sent == 15
