"""TLS contexts with verification always on."""

from __future__ import annotations

import ssl
from pathlib import Path


def client_context(ca_file: Path | str | None = None) -> ssl.SSLContext:
    """A verifying client context: the system's CAs, plus ``ca_file`` when given.

    Hostname checks and certificate verification stay on; there is deliberately no
    switch to turn them off.
    """
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if ca_file:
        context.load_verify_locations(cafile=str(ca_file))
    return context


def describe_verify_error(error: ssl.SSLCertVerificationError) -> str:
    """A short human phrase for why a certificate was not accepted."""
    message = error.verify_message or error.reason or str(error)
    return str(message)
