"""A locked-down QtWebEngine view for HTML mail.

Layers, each enough on its own to keep a message from running code or phoning home:
the HTML is sanitized (mailclient.mime.sanitize) and carries a strict Content-Security-
Policy; JavaScript, plugins and DNS prefetch are off; the profile is off the record; a
request interceptor blocks every request that is not for the message itself; navigation
never happens inside the view (a clicked link goes to the system browser).

QtWebEngine is imported only when the first HTML message is shown: it costs start-up time
and tens of megabytes, and many people read mostly plain text.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from PySide6.QtCore import QBuffer, QByteArray, QUrl, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QVBoxLayout, QWidget

if TYPE_CHECKING:
    from PySide6.QtWebEngineCore import QWebEngineProfile

    from mailclient.mime.parse import InlinePart

SCHEME = "mailpart"
_LINK_SCHEMES = ("http", "https", "mailto")
_registered = False


def register_scheme() -> None:
    """Declare our URL scheme to QtWebEngine; must run before any web engine object exists."""
    global _registered
    if _registered:
        return
    from PySide6.QtWebEngineCore import QWebEngineUrlScheme

    scheme = QWebEngineUrlScheme(SCHEME.encode("ascii"))
    scheme.setSyntax(QWebEngineUrlScheme.Syntax.Path)
    # Secure: no mixed-content downgrade; not Local, so that "Load remote content" can work.
    scheme.setFlags(QWebEngineUrlScheme.Flag.SecureScheme)
    QWebEngineUrlScheme.registerScheme(scheme)
    _registered = True


def new_token() -> str:
    """A fresh, unguessable name for one displayed message's resources."""
    return secrets.token_hex(16)


def cid_base(token: str) -> str:
    """The URL prefix under which ``cid:`` parts of the message ``token`` are served."""
    return f"{SCHEME}:{token}/cid/"


@dataclass(frozen=True)
class HtmlContent:
    """What the view serves for one message: the safe document and its cid: parts."""

    token: str
    document: str
    inline_parts: Mapping[str, InlinePart]
    allow_remote: bool = False
    anchor: str = ""  # where in the document to scroll to once loaded (a search's first hit)


class _Policy:
    """The documents the views show now, by token.

    Read by the scheme handler and the request interceptor, which may run on the web
    engine's IO thread; hence the lock.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._contents: dict[str, HtmlContent] = {}
        self.blocked_requests = 0

    def add(self, content: HtmlContent) -> None:
        with self._lock:
            self._contents[content.token] = content

    def remove(self, token: str) -> None:
        with self._lock:
            self._contents.pop(token, None)

    def content(self, token: str) -> HtmlContent | None:
        with self._lock:
            return self._contents.get(token)

    def count_blocked(self) -> None:
        with self._lock:
            self.blocked_requests += 1


def _token_of(url: QUrl) -> str:
    if url.scheme() != SCHEME:
        return ""
    return url.path().partition("/")[0]


class _Engine:
    """The profile, interceptor and scheme handler: created once, on first use."""

    def __init__(self, policy: _Policy) -> None:
        from PySide6.QtWebEngineCore import (
            QWebEngineProfile,
            QWebEngineUrlRequestInfo,
            QWebEngineUrlRequestInterceptor,
            QWebEngineUrlRequestJob,
            QWebEngineUrlSchemeHandler,
        )
        from PySide6.QtWidgets import QApplication

        register_scheme()
        remote_types = {
            QWebEngineUrlRequestInfo.ResourceType.ResourceTypeImage,
            QWebEngineUrlRequestInfo.ResourceType.ResourceTypeFontResource,
            QWebEngineUrlRequestInfo.ResourceType.ResourceTypeStylesheet,
            QWebEngineUrlRequestInfo.ResourceType.ResourceTypeMedia,
        }

        class Interceptor(QWebEngineUrlRequestInterceptor):
            def interceptRequest(self, info: QWebEngineUrlRequestInfo) -> None:
                scheme = info.requestUrl().scheme()
                if scheme == SCHEME:
                    return
                # Remote loads only for a message whose reader allowed them.
                content = policy.content(_token_of(info.firstPartyUrl()))
                if (
                    content is not None
                    and content.allow_remote
                    and scheme in ("http", "https")
                    and info.resourceType() in remote_types
                ):
                    return
                policy.count_blocked()
                info.block(True)

        class SchemeHandler(QWebEngineUrlSchemeHandler):
            def requestStarted(self, job: QWebEngineUrlRequestJob) -> None:
                token, _, rest = job.requestUrl().path().partition("/")
                content = policy.content(token)
                if content is None:
                    job.fail(QWebEngineUrlRequestJob.Error.UrlNotFound)
                    return
                if rest == "body":
                    _reply(job, "text/html; charset=utf-8", content.document.encode("utf-8"))
                    return
                if rest.startswith("cid/"):
                    part = _find_part(content.inline_parts, unquote(rest[4:]))
                    if part is not None:
                        _reply(job, part.content_type, part.data)
                        return
                job.fail(QWebEngineUrlRequestJob.Error.UrlNotFound)

        app = QApplication.instance()
        # Without a storage name the profile is off the record: nothing reaches the disk.
        self.profile: QWebEngineProfile = QWebEngineProfile(app)
        assert self.profile.isOffTheRecord()
        self.profile.setHttpCacheType(QWebEngineProfile.HttpCacheType.MemoryHttpCache)
        self.profile.setPersistentCookiesPolicy(
            QWebEngineProfile.PersistentCookiesPolicy.NoPersistentCookies
        )
        self.profile.setSpellCheckEnabled(False)
        self.interceptor = Interceptor(self.profile)
        self.profile.setUrlRequestInterceptor(self.interceptor)
        self.handler = SchemeHandler(self.profile)
        self.profile.installUrlSchemeHandler(QByteArray(SCHEME.encode("ascii")), self.handler)


def _reply(job: Any, content_type: str, data: bytes) -> None:
    buffer = QBuffer(job)
    buffer.setData(QByteArray(data))
    job.reply(QByteArray(content_type.encode("ascii", "replace")), buffer)


def _find_part(parts: Mapping[str, InlinePart], content_id: str) -> InlinePart | None:
    if content_id in parts:
        return parts[content_id]
    lowered = content_id.lower()
    return next((p for cid, p in parts.items() if cid.lower() == lowered), None)


_policy = _Policy()
_engine: _Engine | None = None


def _shared_engine() -> _Engine:
    global _engine
    if _engine is None:
        _engine = _Engine(_policy)
    return _engine


def blocked_request_count() -> int:
    """Requests the interceptor refused since start (for tests and diagnostics)."""
    return _policy.blocked_requests


class HtmlView(QWidget):
    """Shows one HTML message at a time; links leave only by a click, to the system browser."""

    link_hovered = Signal(str)  # the real target of the link under the mouse, "" when none
    link_activated = Signal(QUrl)  # a click on a link with a scheme we hand to the desktop
    loaded = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineSettings
        from PySide6.QtWebEngineWidgets import QWebEngineView

        engine = _shared_engine()
        view_owner = self
        # A list, so the destroyed handler below sees the token current at that time.
        self._token_holder = [""]
        self.showing = False  # a message's document, not the empty one
        holder = self._token_holder
        self.destroyed.connect(lambda *_: _policy.remove(holder[0]))

        class Page(QWebEnginePage):
            def acceptNavigationRequest(
                self, url: QUrl | str, kind: QWebEnginePage.NavigationType, is_main_frame: bool
            ) -> bool:
                url = QUrl(url)
                if kind == QWebEnginePage.NavigationType.NavigationTypeLinkClicked:
                    if url.scheme() in _LINK_SCHEMES:
                        view_owner.link_activated.emit(url)
                    return False
                # Only our own document loads; redirects, refreshes and forms go nowhere.
                return (
                    is_main_frame
                    and url.scheme() == SCHEME
                    and kind == QWebEnginePage.NavigationType.NavigationTypeTyped
                )

            def createWindow(  # type: ignore[override]
                self, kind: QWebEnginePage.WebWindowType
            ) -> None:
                # Qt allows None here (no new window opens); the stubs do not say so.
                return None

        self.web_view = QWebEngineView(self)
        self.web_view.setObjectName("htmlBody")
        if QGuiApplication.platformName() == "xcb":
            # Native from the start: made native on its first show instead, it takes the
            # window's activation on X11, and the keyboard with it (Down, Space in the list).
            self.web_view.winId()
        self.web_view.setAccessibleName("Message body")
        self._page = Page(engine.profile, self.web_view)
        settings = self._page.settings()
        attribute = QWebEngineSettings.WebAttribute
        for name, value in (
            (attribute.JavascriptEnabled, False),
            (attribute.JavascriptCanOpenWindows, False),
            (attribute.JavascriptCanAccessClipboard, False),
            (attribute.JavascriptCanPaste, False),
            (attribute.LocalContentCanAccessRemoteUrls, False),
            (attribute.LocalContentCanAccessFileUrls, False),
            (attribute.PluginsEnabled, False),
            (attribute.AutoLoadImages, True),
            (attribute.DnsPrefetchEnabled, False),
            (attribute.ErrorPageEnabled, False),
            (attribute.FullScreenSupportEnabled, False),
            (attribute.ScreenCaptureEnabled, False),
            (attribute.WebGLEnabled, False),
            (attribute.Accelerated2dCanvasEnabled, False),
            (attribute.HyperlinkAuditingEnabled, False),
            (attribute.PdfViewerEnabled, False),
            (attribute.NavigateOnDropEnabled, False),
            (attribute.AutoLoadIconsForPage, False),
            (attribute.FocusOnNavigationEnabled, False),
        ):
            settings.setAttribute(name, value)
        self.web_view.setPage(self._page)
        self._page.linkHovered.connect(self.link_hovered)
        self._page.loadFinished.connect(self.loaded)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.web_view)
        self.setFocusProxy(self.web_view)

    def show_content(self, content: HtmlContent) -> None:
        _policy.remove(self._token_holder[0])
        _policy.add(content)
        self._token_holder[0] = content.token
        self.showing = bool(content.document)
        url = QUrl(f"{SCHEME}:{content.token}/body")
        if content.anchor:
            url.setFragment(content.anchor)
        self._page.load(url)

    def clear(self) -> None:
        """Show nothing; the page's document and its parts are let go."""
        self.show_content(HtmlContent(new_token(), "", {}))

    def page_down(self) -> None:
        """Scroll by a screenful (Space in the message list)."""
        from PySide6.QtWebEngineCore import QWebEngineScript

        # Page scripts are off; this runs in the application's own isolated world.
        self._page.runJavaScript(
            "window.scrollBy(0, Math.max(40, window.innerHeight - 40));",
            QWebEngineScript.ScriptWorldId.ApplicationWorld,
        )

    def plain_text(self, callback: Any) -> None:
        """Call ``callback`` with the visible text of the page (for tests and copy)."""
        self._page.toPlainText(callback)

    def page(self) -> Any:
        return self._page

    @staticmethod
    def profile() -> QWebEngineProfile:
        return _shared_engine().profile
