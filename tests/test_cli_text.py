"""The terminal-safe printing of strings from the network (onetimeshare/cli_text.py), over a
table of hostile inputs: what a sender can put in a name or a note, or a server in a message."""

import io
import json
import unicodedata

import pytest

from onetimeshare.cli_get import safe_name
from onetimeshare.cli_text import SafeTextWriter, is_unsafe, json_safe, terminal_safe

ESC = "\x1b"
HOSTILE = [
    # (what it does on a terminal, the input, what must be shown instead)
    ("OSC 52: write the clipboard", f"{ESC}]52;c;cm0gLXJmIH4K\x07", "\\x1b]52;c;cm0gLXJmIH4K\\x07"),
    ("OSC 0: set the window title", f"{ESC}]0;pwned{ESC}\\", "\\x1b]0;pwned\\x1b\\"),
    ("CSI: clear the screen", f"{ESC}[2J{ESC}[H", "\\x1b[2J\\x1b[H"),
    ("SGR 8: hide the text that follows", f"ok{ESC}[8msecret", "ok\\x1b[8msecret"),
    ("C1 CSI (one byte)", "\x9b2J", "\\x9b2J"),
    ("C1 OSC (one byte)", "\x9d52;c;eA==\x9c", "\\x9d52;c;eA==\\x9c"),
    ("carriage return overwrites the line", "safe.txt\revil", "safe.txt\\revil"),
    ("backspaces erase what was shown", "abc\b\b\bxyz", "abc\\x08\\x08\\x08xyz"),
    ("newline forges a line of output", "a.txt\nSaved /etc/passwd", "a.txt\\nSaved /etc/passwd"),
    ("bell", "ding\x07", "ding\\x07"),
    ("DEL", "a\x7fb", "a\\x7fb"),
    ("NUL", "a\x00b", "a\\x00b"),
    ("right-to-left override disguises an extension", "invoice\u202efdp.exe",
     "invoice\\u202efdp.exe"),
    ("bidi isolates", "\u2066x\u2069\u2067y\u2068", "\\u2066x\\u2069\\u2067y\\u2068"),
    ("left-to-right / right-to-left marks", "\u200ea\u200fb\u061c", "\\u200ea\\u200fb\\u061c"),
    ("zero-width space hides a difference", "pay\u200bpal", "pay\\u200bpal"),
    ("byte order mark", "\ufeffname", "\\ufeffname"),
    ("Unicode tag characters (invisible text)", "a\U000e0041\U000e007f",
     "a\\U000e0041\\U000e007f"),
    ("line and paragraph separators", "a\u2028b\u2029c", "a\\u2028b\\u2029c"),
    ("lone surrogate (from undecodable bytes)", "a\udcffb", "a\\udcffb"),
]
HARMLESS = [
    "report.pdf", "Grüße aus Köln.txt", "東京の写真.zip", "تقرير.pdf", "zażółć gęślą jaźń",
    "emoji 👨\u200d👩\u200d👧 family",  # joined by ZWJ, which moves nothing: kept
    "می\u200cخواهم",  # Persian with ZWNJ: kept, it shapes the word
    "a\\x1b literal backslash", "",
]


@pytest.mark.parametrize("attack, text, shown", HOSTILE, ids=[row[0] for row in HOSTILE])
def test_hostile_text_is_shown_escaped(attack, text, shown):
    safe = terminal_safe(text)
    assert safe == shown
    assert not any(is_unsafe(char) for char in safe)
    assert safe_name(text).isprintable(), "a file name gets '_' for the same characters"


@pytest.mark.parametrize("text", HARMLESS)
def test_harmless_text_is_left_alone(text):
    assert terminal_safe(text) == text
    assert terminal_safe(text, multiline=True) == text


def test_a_note_keeps_its_lines_and_tabs_but_nothing_else():
    note = f"line 1\r\n\tline 2\n{ESC}]52;c;eA==\x07\u202e\rend"
    assert terminal_safe(note, multiline=True) == (
        "line 1\n\tline 2\n\\x1b]52;c;eA==\\x07\\u202e\\rend")


def test_every_unsafe_character_is_escaped_on_one_line():
    """Exhaustive over the categories: nothing of Cc, Cf, Cs, Zl, Zp gets through raw."""
    for code in range(0x110000):
        char = chr(code)
        if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp") and code not in (
                0x200C, 0x200D):
            assert terminal_safe(char) != char, hex(code)
            assert terminal_safe(char).isascii() and terminal_safe(char).isprintable()


@pytest.mark.parametrize("piece_size", [1, 2, 3, 7, 1 << 20])
def test_the_note_writer_gives_the_same_text_whatever_the_pieces(piece_size):
    note = f"héllo\r\nwörld 👨\u200d👩 {ESC}[2J\u202e\r\n".encode() + b"\xff tail"
    out = io.StringIO()
    writer = SafeTextWriter(out)
    for start in range(0, len(note), piece_size):
        writer.write(note[start:start + piece_size])
    writer.close()
    assert out.getvalue() == "héllo\nwörld 👨\u200d👩 \\x1b[2J\\u202e\n\ufffd tail"
    assert writer.last == "l"


@pytest.mark.parametrize("attack, text, shown", HOSTILE, ids=[row[0] for row in HOSTILE])
def test_json_output_escapes_the_same_characters_and_keeps_the_value(attack, text, shown):
    document = json_safe(json.dumps({"name": text}, ensure_ascii=False, indent=2))
    assert json.loads(document) == {"name": text}, "the same JSON value"
    assert not any(is_unsafe(char) for char in document.replace("\n", ""))


@pytest.mark.parametrize("name, safe", [
    ("-rf", "_rf"),
    ("--help", "_-help"),
    ("~root", "_root"),
    ("../x", "_x"),
    (".", "download"),
    ("..", "download"),
    ("a/b/c.txt", "a_b_c.txt"),
    ("/etc/passwd", "_etc_passwd"),
    (" -x ", "_x"),
])
def test_a_file_name_is_never_an_option_or_a_path(name, safe):
    assert safe_name(name) == safe
