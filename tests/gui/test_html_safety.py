"""HTML mail in the real QtWebEngine view: nothing runs, nothing loads from the network.

A local HTTP server counts every request it gets. Mail full of ways to reach it (remote
images, scripts, frames, CSS url() and @import, link and meta tags, srcset, background
attributes) must leave it at zero; "Load for this message" must make it count, which
shows the server and the test would notice a leak.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import SMTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from PySide6.QtCore import (
    QBuffer,
    QByteArray,
    QIODevice,
    QObject,
    QPoint,
    Qt,
    QThreadPool,
    QUrl,
    Slot,
)
from PySide6.QtGui import QColor, QDesktopServices, QImage
from pytestqt.qtbot import QtBot

from mailclient.ui.mailbox import html_view
from mailclient.ui.mailbox.html_view import HtmlContent, HtmlView, cid_base, new_token
from mailclient.ui.mailbox.reading_pane import ReadingPane
from mailclient.workers.reading import prepare


class CountingServer:
    def __init__(self) -> None:
        self.paths: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.paths.append(self.path)
                body = PNG if self.path.endswith(".png") else b"body { color: red }"
                self.send_response(200)
                self.send_header(
                    "Content-Type", "image/png" if self.path.endswith(".png") else "text/css"
                )
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _png() -> bytes:
    image = QImage(40, 30, QImage.Format.Format_RGB32)
    image.fill(QColor("#2a7ae2"))
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(data.data())


PNG = b""


@pytest.fixture
def server(qapp: Any) -> Iterator[CountingServer]:
    global PNG
    PNG = PNG or _png()
    s = CountingServer()
    yield s
    s.close()


def hostile_html(base: str) -> str:
    return f"""<html><head>
<title>Newsletter</title>
<base href="{base}/base/">
<meta http-equiv="refresh" content="0; url={base}/refresh">
<link rel="stylesheet" href="{base}/link.css">
<link rel="prefetch" href="{base}/prefetch">
<link rel="dns-prefetch" href="{base}/dns">
<style>
@import url("{base}/import.css");
@import "{base}/import2.css";
body {{ background: url({base}/body-bg.png); }}
.x {{ background-image: \\75 rl({base}/escaped.png); }}
@font-face {{ font-family: F; src: url({base}/font.woff); }}
</style>
<script>document.title = "script ran"; new Image().src = "{base}/script.png";</script>
</head>
<body onload="document.title='onload ran'">
<h1 style="background: url('{base}/inline-style.png')">Weekly news</h1>
<p>Some text with an <img src="{base}/tracker.png" width="1" height="1"> image.</p>
<img srcset="{base}/srcset.png 2x" src="{base}/img.png">
<iframe src="{base}/frame"></iframe>
<object data="{base}/object"></object>
<embed src="{base}/embed">
<video poster="{base}/poster.png" src="{base}/video.mp4"></video>
<audio src="{base}/audio.mp3" autoplay></audio>
<table background="{base}/table.png"><tr><td background="{base}/td.png">cell</td></tr></table>
<form action="{base}/form"><input name="q" value="x"><button>Go</button></form>
<svg><image href="{base}/svg.png"/></svg>
<a href="https://real.example/target" id="link">click here</a>
</body></html>"""


def html_message(html: str, plain: str | None = "plain version") -> bytes:
    message = EmailMessage()
    message["From"] = "News <news@example.org>"
    message["To"] = "alice@example.org"
    message["Subject"] = "Newsletter"
    if plain is not None:
        message.set_content(plain)
        message.add_alternative(html, subtype="html")
    else:
        message.set_content(html, subtype="html")
    return message.as_bytes(policy=SMTP)


def _run_js(qtbot: QtBot, view: HtmlView, script: str) -> Any:
    from PySide6.QtWebEngineCore import QWebEngineScript

    result: list[Any] = []
    view.page().runJavaScript(
        script, QWebEngineScript.ScriptWorldId.ApplicationWorld, lambda value: result.append(value)
    )
    qtbot.waitUntil(lambda: bool(result), timeout=10_000)
    return result[0]


@pytest.fixture
def pane(qtbot: QtBot) -> Iterator[ReadingPane]:
    pool = QThreadPool()
    widget = ReadingPane(pool)
    widget.resize(900, 700)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.close()
    pool.waitForDone()


def _show(qtbot: QtBot, pane: ReadingPane, raw: bytes, allow_remote: bool = False) -> HtmlView:
    token = new_token()
    prepared = prepare(
        raw,
        1,
        prefer_plain=False,
        allow_remote=allow_remote,
        token=token,
        cid_base=cid_base(token),
    )
    first = pane.html_view is None
    pane.show_prepared(prepared)
    view = pane.html_view
    assert view is not None
    if first:
        # The view was made just now: wait for the load it started.
        with qtbot.waitSignal(view.loaded, timeout=20_000):
            pass
    return view


def test_html_view_is_created_only_when_needed(qtbot: QtBot, pane: ReadingPane) -> None:
    assert pane.html_view is None
    token = new_token()
    plain = EmailMessage()
    plain["Subject"] = "plain"
    plain.set_content("just text")
    pane.show_prepared(
        prepare(
            plain.as_bytes(),
            1,
            prefer_plain=False,
            allow_remote=False,
            token=token,
            cid_base=cid_base(token),
        )
    )
    assert pane.html_view is None
    assert pane.shown_kind() == "text"


def test_hostile_html_makes_no_request(
    qtbot: QtBot, pane: ReadingPane, server: CountingServer
) -> None:
    view = _show(qtbot, pane, html_message(hostile_html(server.base)))
    assert pane.shown_kind() == "html"
    assert pane.remote_bar.isVisible()
    assert "Remote content blocked" in pane.remote_bar.accessibleName()
    # Give anything deferred (refresh, lazy images, fonts) time to try.
    qtbot.wait(1500)
    assert server.paths == []
    assert _run_js(qtbot, view, "document.title") in ("", "Newsletter")
    text = _run_js(qtbot, view, "document.body.innerText")
    assert "Weekly news" in text and "cell" in text
    assert view.page().url().scheme() == html_view.SCHEME


def test_interceptor_alone_blocks_unsanitized_html(qtbot: QtBot, server: CountingServer) -> None:
    # No sanitizer and no CSP here: the request interceptor and the settings alone.
    view = HtmlView()
    view.resize(800, 600)
    qtbot.addWidget(view)
    view.show()
    before = html_view.blocked_request_count()
    with qtbot.waitSignal(view.loaded, timeout=20_000):
        view.show_content(HtmlContent(new_token(), hostile_html(server.base), {}))
    qtbot.wait(1500)
    assert server.paths == []
    assert html_view.blocked_request_count() > before
    assert _run_js(qtbot, view, "document.title") == "Newsletter"  # the page's scripts never ran


def test_load_remote_content_for_this_message(
    qtbot: QtBot, pane: ReadingPane, server: CountingServer
) -> None:
    raw = html_message(f'<p>Logo: <img src="{server.base}/logo.png" id="logo"></p>')
    _show(qtbot, pane, raw)
    assert pane.remote_bar.isVisible()
    qtbot.wait(500)
    assert server.paths == []
    with qtbot.waitSignal(pane.load_remote_requested):
        qtbot.mouseClick(pane.remote_bar.button, Qt.MouseButton.LeftButton)
    view = _show(qtbot, pane, raw, allow_remote=True)
    qtbot.waitUntil(lambda: "/logo.png" in server.paths, timeout=10_000)
    assert not pane.remote_bar.isVisible()
    qtbot.waitUntil(
        lambda: _run_js(qtbot, view, "document.getElementById('logo').naturalWidth") == 40,
        timeout=10_000,
    )


def test_cid_images_come_from_the_message(
    qtbot: QtBot, pane: ReadingPane, server: CountingServer
) -> None:
    message = EmailMessage()
    message["Subject"] = "With a picture"
    message.set_content("see picture")
    message.add_alternative(
        '<p>Picture: <img id="pic" src="cid:pic@example.org"></p>', subtype="html"
    )
    message.get_payload()[1].add_related(PNG, "image", "png", cid="<pic@example.org>")
    view = _show(qtbot, pane, message.as_bytes(policy=SMTP))
    qtbot.waitUntil(
        lambda: _run_js(qtbot, view, "document.getElementById('pic').naturalWidth") == 40,
        timeout=10_000,
    )
    assert not pane.remote_bar.isVisible()
    assert pane.attachments.attachments() == []


class _Opened(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url.toString())


def _link_centre(qtbot: QtBot, view: HtmlView, element_id: str) -> QPoint:
    centre = _run_js(
        qtbot,
        view,
        f"var r = document.getElementById('{element_id}').getBoundingClientRect();"
        "(r.left + r.width / 2) + ',' + (r.top + r.height / 2)",
    )
    x, y = (float(v) for v in centre.split(","))
    return QPoint(int(x), int(y))


def test_links_show_their_target_and_open_outside(
    qtbot: QtBot, pane: ReadingPane, server: CountingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = html_message(
        '<p style="margin:40px"><a id="l" href="https://real.example/target">'
        "https://looks-like.example/</a></p>"
        '<p style="margin:40px"><a id="h" href="https://real.example/about">'
        "About \u202eus</a></p>"
    )
    view = _show(qtbot, pane, raw)
    point = _link_centre(qtbot, view, "l")
    target = view.web_view.focusProxy()  # the widget Chromium draws into
    hovered: list[str] = []
    pane.link_hovered.connect(hovered.append)
    qtbot.mouseMove(target, point)
    qtbot.waitUntil(lambda: "https://real.example/target" in hovered, timeout=10_000)
    # The text is another web address than the target: the reader is asked first.
    answers = [False, True]
    asked: list[tuple[str, str]] = []

    def confirm(text: str, url: str) -> bool:
        asked.append((text, url))
        return answers[len(asked) - 1]

    monkeypatch.setattr(pane, "confirm_deceptive_link", confirm)
    opened = _Opened()
    QDesktopServices.setUrlHandler("https", opened, "open")
    try:
        qtbot.mouseClick(target, Qt.MouseButton.LeftButton, pos=point)
        qtbot.waitUntil(lambda: len(asked) == 1, timeout=10_000)
        qtbot.wait(100)
        assert opened.urls == []  # refused
        qtbot.mouseClick(target, Qt.MouseButton.LeftButton, pos=point)
        qtbot.waitUntil(lambda: opened.urls == ["https://real.example/target"], timeout=10_000)
        assert asked[0] == ("https://looks-like.example/", "https://real.example/target")
        # A link whose text is no web address opens at once, its text without U+202E.
        assert _run_js(qtbot, view, "document.getElementById('h').textContent") == "About us"
        qtbot.mouseClick(target, Qt.MouseButton.LeftButton, pos=_link_centre(qtbot, view, "h"))
        qtbot.waitUntil(lambda: len(opened.urls) == 2, timeout=10_000)
    finally:
        QDesktopServices.unsetUrlHandler("https")
    assert opened.urls[1] == "https://real.example/about"
    assert len(asked) == 2
    assert view.page().url().scheme() == html_view.SCHEME  # the view did not navigate
    assert server.paths == []


def test_space_pages_through_html(qtbot: QtBot, pane: ReadingPane) -> None:
    paragraphs = "".join(f"<p>Paragraph {i}</p>" for i in range(200))
    view = _show(qtbot, pane, html_message(paragraphs))
    assert _run_js(qtbot, view, "window.scrollY") == 0
    pane.page_down()
    qtbot.waitUntil(lambda: _run_js(qtbot, view, "window.scrollY") > 100, timeout=10_000)
