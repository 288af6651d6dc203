"""Make engine-provided text safe to show: no terminal control sequences, no Rich markup.

Container names, labels, image references, commands and logs come from whoever built or ran
the container. Shown raw they could move the cursor, retitle the terminal, hide text
(escape sequences) or restyle the UI (Rich markup in a label). Everything from the engine goes
through `clean()` before display, and through `markup_safe()` where Rich parses markup.
"""

from __future__ import annotations

import re

# CSI ... final byte, OSC ... (BEL | ST), other ESC sequences (incl. DCS/SOS/PM/APC strings),
# and C1 controls. 8-bit forms are covered by the C0/C1 class below.
_ESCAPES = re.compile(
    r"""
    \x1b\[[0-?]*[ -/]*[@-~]                 # CSI
  | \x1b[\]PX^_][^\x07\x1b]*(?:\x07|\x1b\\)?  # OSC, DCS, SOS, PM, APC strings
  | \x1b[@-Z\\-_]                           # two-byte sequences
  | \x1b.?                                  # a lone or unknown ESC
    """,
    re.VERBOSE,
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(text: object, *, keep_newlines: bool = True) -> str:
    """Strip escape sequences and control characters (tab kept; newlines kept unless told)."""
    s = _ESCAPES.sub("", str(text))
    s = _CONTROLS.sub("", s.replace("\r\n", "\n"))
    if not keep_newlines:
        s = s.replace("\n", " ")
    return s


def one_line(text: object) -> str:
    """`clean()` for table cells and titles: single line, tabs as spaces."""
    return clean(text, keep_newlines=False).replace("\t", " ")


def markup_safe(text: object, *, keep_newlines: bool = True) -> str:
    """`clean()` and then escape Rich markup, for strings that Rich will parse."""
    from rich.markup import escape

    return escape(clean(text, keep_newlines=keep_newlines))
