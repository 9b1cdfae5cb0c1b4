"""Make text from the network safe to show on a terminal.

File names, kinds and types come from the sender, messages and states from the server, notes
from whoever wrote them. Written raw, a string can drive the recipient's terminal: ESC and C1
sequences change the title, hide or rewrite lines, or set the clipboard (OSC 52); bidirectional
overrides (U+202E) show `invoice\u202efdp.exe` as "invoiceexe.pdf"; a stray newline forges an
extra line of output. One rule covers all of these: every character of Unicode categories Cc
(controls, C0 and C1, DEL), Cf (format: bidi controls, zero-width and invisible characters),
Cs (lone surrogates), Zl and Zp (line and paragraph separators) is shown as a visible escape
(`\\x1b`, `\\u202e`), so people see that something was there. Two exceptions, by need:
ZWJ and ZWNJ (U+200C, U+200D) join emoji and shape Persian and Indic text and move nothing;
and a note (`multiline`) keeps its newlines and tabs, with CRLF shown as a newline.
"""

import codecs
import json
import unicodedata

_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_JOINERS = frozenset({0x200C, 0x200D})
_NAMED = {0x09: "\\t", 0x0A: "\\n", 0x0D: "\\r"}


def _escape(code: int) -> str:
    if code in _NAMED:
        return _NAMED[code]
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 \
        else f"\\U{code:08x}"


def is_unsafe(char: str) -> bool:
    """Tell whether `char` must not reach a terminal as it is."""
    return unicodedata.category(char) in _UNSAFE_CATEGORIES and ord(char) not in _JOINERS


class _Table(dict):
    """A `str.translate` table that decides each code point once, on first sight: the
    translation then runs at C speed, even over a note of many MiB."""

    def __init__(self, keep=(), escape=_escape):
        super().__init__()
        self.keep = frozenset(keep)
        self.escape = escape

    def __missing__(self, code):
        value = self.escape(code) if code not in self.keep and is_unsafe(chr(code)) else code
        self[code] = value
        return value


_LINE = _Table()
_TEXT = _Table(keep=(0x09, 0x0A))


def terminal_safe(text, multiline: bool = False) -> str:
    """Return `text` with every unsafe character escaped; `multiline` keeps newlines and tabs."""
    text = str(text)
    if text.isprintable():  # the common case, checked in C: nothing to do
        return text
    if multiline:
        return text.replace("\r\n", "\n").translate(_TEXT)
    return text.translate(_LINE)


def _json_escape(code: int) -> str:
    if code >= 0x10000:  # JSON escapes only 16-bit units: a surrogate pair
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


# JSON text: raw newlines there are the layout (json escapes those in strings), so keep them.
_JSON = _Table(keep=(0x0A,), escape=_json_escape)


def json_safe(document: str) -> str:
    """Return JSON text with unsafe characters as `\\u` escapes: the same JSON value, but
    nothing in it can drive a terminal (json.dumps leaves C1, DEL and format characters raw)."""
    return document if document.isprintable() else document.translate(_JSON)


def json_string_body(text: str) -> str:
    """Return `text` as the inside of a JSON string (no quotes), terminal-safe."""
    return json_safe(json.dumps(text, ensure_ascii=False)[1:-1])


class SafeTextWriter:
    """Decode UTF-8 pieces as they come and write them terminal-safe (`multiline`) to `stream`.

    For a note printed on a terminal: a multi-byte character or a CRLF split across two
    pieces is held back until the next one, so each is judged whole.
    """

    def __init__(self, stream):
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.held = ""
        self.last = ""

    def write(self, data: bytes):
        self._emit(self.decoder.decode(data))

    def close(self):
        self._emit(self.decoder.decode(b"", final=True), final=True)

    def _emit(self, text, final=False):
        text = self.held + text
        self.held = ""
        if not final and text.endswith("\r"):
            text, self.held = text[:-1], "\r"
        if text:
            self.stream.write(terminal_safe(text, multiline=True))
            self.last = text[-1]
