"""Finding an account's servers from its address, and inspecting a server's certificate.

Sits beside the IMAP and SMTP modules: it talks to the network (HTTPS, DNS, mail servers
up to their TLS handshake) but never sends a password.
"""

from mailclient.discovery.certificates import ServerCertificate, fetch_certificate
from mailclient.discovery.discover import Step, StepState, discover
from mailclient.discovery.guess import Cancelled
from mailclient.discovery.handshake import Endpoint, Protocol
from mailclient.discovery.model import METHOD_TITLES, Discovery, FoundServer, Method
from mailclient.discovery.network import Network, SrvRecord, dns_srv

__all__ = [
    "METHOD_TITLES",
    "Cancelled",
    "Discovery",
    "Endpoint",
    "FoundServer",
    "Method",
    "Network",
    "Protocol",
    "ServerCertificate",
    "SrvRecord",
    "Step",
    "StepState",
    "discover",
    "dns_srv",
    "fetch_certificate",
]
