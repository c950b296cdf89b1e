"""Text from mail bytes: charset labels, bodies, header values (RFC 2047), control characters.

One decoder for the whole client: the sync's summaries (mailclient.imap.headers) and the
reading pane (mailclient.mime.parse) show a header alike. Nothing here raises on bad input:
unknown or wrong charset labels are common in mail, and text is never dropped.
"""

from __future__ import annotations

import binascii
import codecs
import functools
import re

# Labels that say nothing useful, or that mail software writes while meaning another codec.
# Browsers decode ASCII and Latin-1 labels as windows-1252 (WHATWG Encoding); so do we,
# because mislabelled 8-bit text is common in mail.
_CHARSET_ALIASES = {
    "unknown-8bit": None,
    "x-unknown": None,
    "unknown": None,
    "default": None,
    "us-ascii": "windows-1252",
    "ascii": "windows-1252",
    "ansi_x3.4-1968": "windows-1252",
    "iso-8859-1": "windows-1252",
    "latin1": "windows-1252",
    "latin-1": "windows-1252",
    "iso_8859-1": "windows-1252",
    "x-user-defined": "windows-1252",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "iso-8859-8-i": "iso-8859-8",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
    "windows-874": "cp874",
    "x-sjis": "shift_jis",
    "shift-jis": "shift_jis",
    "unicode-1-1-utf-7": "utf-7",
}

_PIECE = 1 << 20
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([QqBb])\?([^?\s]*)\?=")
_SPACES = re.compile(r"\s+")
# C0 controls, DEL, C1 controls (0x9B is a CSI of its own to many terminals) and the
# Unicode line and paragraph separators: none belongs in a one-line header value. An
# escape sequence in a subject would reach the terminal of ``mailclient list`` as is
# (OSC 52 writes the clipboard) and the window's labels as garbage.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Bidirectional embeddings, overrides and isolates: "\u202egnp.exe" shows as "exe.png".
# The marks (U+200E, U+200F, U+061C) stay: they cannot reorder letters, and right-to-left
# text uses them. Then characters that show nothing (zero-width space, word joiner,
# invisible operators, BOM, soft hyphen, Hangul fillers), which make look-alike names and
# hide text from filters.
_INVISIBLE = re.compile(
    "[\u202a-\u202e\u2066-\u2069\u200b\u2060-\u2064\ufeff\u180e\u00ad\u034f"
    "\u115f\u1160\u3164\uffa0]"
)
# Zero-width (non-)joiners shape emoji sequences and Indic, Arabic and Persian script;
# next to ASCII they only hide, so they go there.
_ASCII_JOINER = re.compile("(?:(?<=[\x00-\x7f])|^)[\u200c\u200d]+|[\u200c\u200d]+(?=[\x00-\x7f]|$)")
# The invisible characters Python counts as printable (letters that show nothing).
_INVISIBLE_LETTERS = re.compile("[\u115f\u1160\u3164\uffa0]")
# A charset label is a registered name (RFC 2978): anything else (NUL, spaces, quotes
# inside) names no codec, and Python's codec lookup raises ValueError for some of them.
_CHARSET_LABEL = re.compile(r"[A-Za-z0-9._:+()-]{1,40}")
# Codecs Python has that no mail is written in: "undefined" raises on any input, the
# escape codecs turn backslashes into arbitrary characters.
_NOT_MAIL_CODECS = {"undefined", "unicode-escape", "raw-unicode-escape", "idna", "punycode"}


@functools.lru_cache(maxsize=256)
def normalize_charset(charset: str | None) -> str | None:
    """A Python codec name for a MIME charset label, or None when the label is useless."""
    if not charset:
        return None
    label = charset.strip().strip("\"'").lower()
    if not _CHARSET_LABEL.fullmatch(label):
        return None
    if label in _CHARSET_ALIASES:
        label = _CHARSET_ALIASES[label] or ""
    try:
        info = codecs.lookup(label) if label else None
    except (LookupError, ValueError):
        return None
    if info is None or info.name in _NOT_MAIL_CODECS:
        return None
    return info.name


def decode_text(payload: bytes, charset: str | None) -> str:
    """Decode ``payload`` by its declared charset, falling back to UTF-8, then windows-1252."""
    candidates: list[str] = []
    declared = normalize_charset(charset)
    if declared:
        candidates.append(declared)
    candidates += ["utf-8", "cp1252"]
    for candidate in candidates:
        try:
            if len(payload) > _PIECE:
                return _decode_in_pieces(payload, candidate)
            return payload.decode(candidate)
        except (LookupError, UnicodeError, ValueError):
            continue
    # windows-1252 leaves five bytes undefined; Latin-1 maps every byte.
    return payload.decode("latin-1")


def _decode_in_pieces(payload: bytes, codec: str) -> str:
    """``payload.decode(codec)`` a megabyte at a time: one call on 30 MB holds the
    interpreter lock long enough for the window to stall."""
    decoder = codecs.getincrementaldecoder(codec)()
    view = memoryview(payload)
    pieces = [
        decoder.decode(view[start : start + _PIECE]) for start in range(0, len(payload), _PIECE)
    ]
    pieces.append(decoder.decode(b"", final=True))
    return "".join(pieces)


def _word_bytes(encoding: str, payload: str) -> bytes | None:
    raw = payload.encode("ascii", "replace")
    try:
        if encoding in "Bb":
            return binascii.a2b_base64(raw + b"=" * (-len(raw) % 4))
        return binascii.a2b_qp(raw, header=True)
    except (binascii.Error, ValueError):
        return None


def decode_words(text: str) -> str:
    """Decode RFC 2047 encoded words; adjacent words of one charset are joined first.

    Joining matters: senders split a multi-byte character across two words. Words
    that cannot be decoded stay as they are.
    """
    if "=?" not in text:
        return text
    parts: list[str] = []
    pending_charset: str | None = None
    position = 0

    words: list[bytes] = []

    def flush() -> None:
        nonlocal pending_charset
        if pending_charset is not None:
            parts.append(_decode_run(words, pending_charset))
            words.clear()
            pending_charset = None

    for m in _ENCODED_WORD.finditer(text):
        gap = text[position : m.start()]
        charset, encoding, payload = m.groups()
        data = _word_bytes(encoding, payload)
        if data is None:
            continue
        # Whitespace between two encoded words is not part of the text (RFC 2047 §6.2).
        if gap and not (pending_charset is not None and gap.isspace()):
            flush()
            parts.append(gap)
        charset = charset.split("*", 1)[0].lower()  # RFC 2231 adds *language
        if pending_charset is not None and charset != pending_charset:
            flush()
        pending_charset = charset
        words.append(data)
        position = m.end()
    flush()
    parts.append(text[position:])
    return "".join(parts)


def _decode_run(words: list[bytes], charset: str) -> str:
    """Adjacent encoded words of one charset: together if they decode so, else one by one.

    One by one, each word falls back on its own (decode_text), so a word in a charset
    that does not fit it mangles only itself.
    """
    codec = normalize_charset(charset)
    if codec:
        try:
            return b"".join(words).decode(codec)
        except (LookupError, UnicodeError, ValueError):
            pass
    return "".join(decode_text(word, charset) for word in words)


def header_text(raw: bytes) -> str:
    """A raw header value as one line of text: unfolded, decoded, without control characters.

    Raw 8-bit bytes are read as UTF-8 (RFC 6532) or else windows-1252, encoded words as
    RFC 2047 says; runs of white space become one space.
    """
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        text = decode_text(raw, None)
    if "=?" in text:
        text = decode_words(text)
    return one_line(text)


def one_line(text: str) -> str:
    """``text`` with controls and line breaks as spaces, runs of white space as one, and
    without the characters that reorder or hide text (see without_invisible)."""
    # isprintable() is False for any control, separator or format character (tabs, line
    # breaks, bidi controls, zero-width characters).
    if not text.isprintable() or "  " in text or _INVISIBLE_LETTERS.search(text):
        text = _SPACES.sub(" ", _CONTROLS.sub(" ", without_invisible(text)))
    return text.strip()


def without_invisible(text: str) -> str:
    """``text`` without bidi embeddings, overrides and isolates and without characters that
    show nothing, so that what a reader sees is what the text says.

    For text from a message shown where a look-alike deceives: names, subjects, link text,
    attachment names. Bodies keep theirs: right-to-left writing uses them.
    """
    text = _INVISIBLE.sub("", text)
    if "\u200c" in text or "\u200d" in text:
        text = _ASCII_JOINER.sub("", text)
    return text
