"""discover(): from an address to server settings, trying each method in turn.

Order: the shipped provider database, the provider's autoconfig document, RFC 6186 SRV
records, then tested guesses. A method may find only one of the two servers; later methods
then look for the other. Each step is reported as it happens, so a window can show progress.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from mailclient.accounts.model import AuthMethod, validate_email
from mailclient.core.errors import MailclientError
from mailclient.discovery import autoconfig, guess, srv
from mailclient.discovery.guess import Cancelled
from mailclient.discovery.handshake import Protocol
from mailclient.discovery.model import Discovery, FoundServer, Method
from mailclient.discovery.network import Network
from mailclient.discovery.providers import OAuthSettings, Provider, ProviderDatabase


class StepState(StrEnum):
    TRYING = "trying"
    FOUND = "found"
    NOTHING = "nothing"  # looked, found nothing usable
    SKIPPED = "skipped"  # not needed: an earlier method found everything


@dataclass(frozen=True)
class Step:
    method: Method
    state: StepState
    text: str


Report = Callable[[Step], None]


def _ignore(step: Step) -> None:
    del step


@dataclass
class _Search:
    email: str
    domain: str
    network: Network
    report: Report
    cancelled: threading.Event
    providers: ProviderDatabase
    imap: FoundServer | None = None
    smtp: FoundServer | None = None
    username: str = ""
    notes: tuple[str, ...] = ()
    auth: AuthMethod = AuthMethod.PASSWORD
    oauth: OAuthSettings | None = None
    oauth_provider: str = ""

    @property
    def complete(self) -> bool:
        return self.imap is not None and self.smtp is not None

    def checkpoint(self) -> None:
        if self.cancelled.is_set():
            raise Cancelled

    def result(self) -> Discovery:
        return Discovery(
            self.email,
            self.imap,
            self.smtp,
            self.username,
            self.notes,
            self.auth,
            self.oauth,
            self.oauth_provider,
        )

    def sign_in_with(self, provider: Provider) -> None:
        """Sign in the way ``provider`` does, when it knows OAuth2."""
        if provider.oauth is not None:
            self.oauth, self.oauth_provider = provider.oauth, provider.id
            if provider.oauth.required:
                self.auth = AuthMethod.OAUTH2


def discover(
    email: str,
    *,
    network: Network | None = None,
    extra_provider_files: Sequence[Path] = (),
    report: Report = _ignore,
    cancelled: threading.Event | None = None,
) -> Discovery:
    """Find the IMAP and SMTP servers of ``email``; raises Cancelled when asked to stop.

    Blocks on the network: call it from a worker thread.
    """
    email = validate_email("email", email)
    search = _Search(
        email=email,
        domain=email.rsplit("@", 1)[1].lower(),
        network=network or Network(),
        report=report,
        cancelled=cancelled or threading.Event(),
        providers=ProviderDatabase.load(extra_provider_files),
    )
    steps: tuple[tuple[Method, Callable[[], None]], ...] = (
        (Method.PROVIDERS, lambda: _providers(search)),
        (Method.AUTOCONFIG, lambda: _autoconfig(search)),
        (Method.SRV, lambda: _srv(search)),
        (Method.GUESS, lambda: _guess(search)),
    )
    for method, step in steps:
        search.checkpoint()
        if search.complete:
            report(Step(method, StepState.SKIPPED, "Not needed."))
            continue
        step()
    return search.result()


def _providers(search: _Search) -> None:
    search.report(
        Step(
            Method.PROVIDERS, StepState.TRYING, f"Looking up {search.domain} among known providers…"
        )
    )
    provider = search.providers.lookup(search.domain)
    if provider is None:
        search.report(
            Step(Method.PROVIDERS, StepState.NOTHING, f"{search.domain} is not a known provider.")
        )
        return
    search.imap = FoundServer(
        provider.imap.host,
        provider.imap.port,
        provider.imap.security,
        Method.PROVIDERS,
        provider.name,
    )
    search.smtp = FoundServer(
        provider.smtp.host,
        provider.smtp.port,
        provider.smtp.security,
        Method.PROVIDERS,
        provider.name,
    )
    search.username = provider.username_for(search.email)
    search.notes = (provider.note,) if provider.note else ()
    search.sign_in_with(provider)
    search.report(Step(Method.PROVIDERS, StepState.FOUND, f"Found: {provider.name}."))


def _autoconfig(search: _Search) -> None:
    problems = []
    for url in autoconfig.autoconfig_urls(search.email):
        search.checkpoint()
        host = url.split("/")[2]
        search.report(Step(Method.AUTOCONFIG, StepState.TRYING, f"Asking {host}…"))
        try:
            found = autoconfig.parse(autoconfig.fetch(url, search.network), search.email, url)
        except MailclientError as error:
            problems.append(str(error))
            continue
        source = url.split("?")[0]
        if found.imap is not None and search.imap is None:
            search.imap = FoundServer(
                found.imap.host, found.imap.port, found.imap.security, Method.AUTOCONFIG, source
            )
            search.username = found.imap.username
        if found.smtp is not None and search.smtp is None:
            search.smtp = FoundServer(
                found.smtp.host, found.smtp.port, found.smtp.security, Method.AUTOCONFIG, source
            )
            search.username = search.username or found.smtp.username
        _autoconfig_sign_in(search, found)
        search.report(Step(Method.AUTOCONFIG, StepState.FOUND, f"Found at {host}."))
        return
    search.report(
        Step(Method.AUTOCONFIG, StepState.NOTHING, "No configuration file: " + " ".join(problems))
    )


def _autoconfig_sign_in(search: _Search, found: autoconfig.AutoconfigResult) -> None:
    """OAuth2 for the servers an autoconfig file announces with it.

    The endpoints come from the provider list when one of its providers runs the IMAP
    server (its client ID is then the one configured for that provider), else from the
    file's <oAuth2> element; where neither knows them they are left for the person.
    """
    servers = [s for s in (found.imap, found.smtp) if s is not None]
    if not any(s.oauth2 for s in servers):
        return
    provider = _provider_running(search.providers, found.imap.host if found.imap else "")
    if provider is not None:
        search.sign_in_with(provider)
    elif found.oauth is not None:
        search.oauth = OAuthSettings(
            found.oauth.authorization_endpoint,
            found.oauth.token_endpoint,
            found.oauth.scopes,
            mechanism="",
            required=False,
        )
    if any(not s.password for s in servers):
        search.auth = AuthMethod.OAUTH2


def _provider_running(providers: ProviderDatabase, imap_host: str) -> Provider | None:
    """The OAuth2 provider whose IMAP server is ``imap_host``. Autoconfig only runs for a
    domain the list does not name, so where several providers share the server the one
    that serves other people's domains (listing none of its own) is meant: Microsoft 365
    work accounts rather than Outlook.com."""
    running = [p for p in providers.oauth_providers() if p.imap.host == imap_host]
    running.sort(key=lambda p: bool(p.domains))
    return running[0] if running else None


def _srv(search: _Search) -> None:
    search.report(
        Step(Method.SRV, StepState.TRYING, f"Looking up the service records of {search.domain}…")
    )
    found = []
    try:
        if search.imap is None:
            imap = srv.lookup(search.domain, srv.IMAP_SERVICES, search.network)
            if imap is not None:
                search.imap = FoundServer(
                    imap.host, imap.port, imap.security, Method.SRV, imap.record
                )
                found.append(imap.record)
        search.checkpoint()
        if search.smtp is None:
            smtp = srv.lookup(search.domain, srv.SMTP_SERVICES, search.network)
            if smtp is not None:
                search.smtp = FoundServer(
                    smtp.host, smtp.port, smtp.security, Method.SRV, smtp.record
                )
                found.append(smtp.record)
    except MailclientError as error:
        search.report(Step(Method.SRV, StepState.NOTHING, str(error)))
        return
    if found:
        search.report(Step(Method.SRV, StepState.FOUND, "Found: " + ", ".join(found) + "."))
    else:
        search.report(Step(Method.SRV, StepState.NOTHING, "No service records."))


def _guess(search: _Search) -> None:
    wanted = [
        protocol
        for protocol, server in ((Protocol.IMAP, search.imap), (Protocol.SMTP, search.smtp))
        if server is None
    ]
    names = sorted(
        {f"{p}.{search.domain}" for protocol in wanted for p in guess.HOST_PREFIXES[protocol]}
    )
    search.report(Step(Method.GUESS, StepState.TRYING, f"Trying {', '.join(names)}…"))
    answered = []
    for protocol in wanted:
        endpoints = guess.candidates(search.domain, protocol, search.network)
        answer = guess.first_answering(endpoints, search.network, search.cancelled)
        if answer is None:
            continue
        e = answer.endpoint
        found = FoundServer(e.host, e.port, e.security, Method.GUESS, "tested")
        if protocol is Protocol.IMAP:
            search.imap = found
        else:
            search.smtp = found
        answered.append(f"{e.host}:{e.port}")
    if answered:
        search.report(Step(Method.GUESS, StepState.FOUND, f"{' and '.join(answered)} answered."))
    else:
        search.report(Step(Method.GUESS, StepState.NOTHING, "No common server name answered."))
