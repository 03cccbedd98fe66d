"""Reads UI-TARS's action calls, `name(key='value', key2="value")`, without eval.

Written by hand: the model writes Python-looking calls, and running them (eval, or even
`ast.parse` on untrusted text, which recurses on nesting) is what must never happen. This is
one left-to-right scan, linear in the text: a name, then keyword arguments whose values are
quoted strings with backslash escapes (\\n, \\t, \\', \\", \\\\), or bare words and numbers.
"""

from __future__ import annotations

import re

from vlagent.policies.profiles.base import AnswerFormatError, shown

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,40}")
_BARE = re.compile(r"[^,)\s]{1,200}")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "'": "'", '"': '"', "\\": "\\"}
MAX_ARGUMENTS = 8


def _quoted(text: str, i: int, raw: str) -> tuple[str, int]:
    """The string literal opening at text[i]; returns (value, index after the closing quote)."""
    quote, out, i = text[i], [], i + 1
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            out.append(_ESCAPES.get(text[i + 1], "\\" + text[i + 1]))
            i += 2
        elif char == quote:
            return "".join(out), i + 1
        else:
            out.append(char)
            i += 1
    raise AnswerFormatError(raw, f"unclosed {quote} string in {shown(text)}")


def _skip_space(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t":
        i += 1
    return i


def parse_call(text: str, raw: str) -> tuple[str, dict[str, str]]:
    """`name(k='v', ...)` -> (name, {k: v}); anything else is AnswerFormatError."""
    text = text.strip()
    match = _NAME.match(text)
    if not match:
        raise AnswerFormatError(raw, f"expected an action call like click(point='<point>x y</point>'), got {shown(text)}")
    name, i = match.group(), _skip_space(text, match.end())
    if i >= len(text) or text[i] != "(":
        raise AnswerFormatError(raw, f"{name} needs its arguments in parentheses: {name}(...)")
    i = _skip_space(text, i + 1)
    arguments: dict[str, str] = {}
    while i < len(text) and text[i] != ")":
        key_match = _NAME.match(text, i)
        if not key_match:
            raise AnswerFormatError(raw, f"{name}(...) takes keyword arguments like key='value'")
        key, i = key_match.group(), _skip_space(text, key_match.end())
        if i >= len(text) or text[i] != "=":
            raise AnswerFormatError(raw, f"{name}(...): argument {key!r} needs ='value'")
        i = _skip_space(text, i + 1)
        if i < len(text) and text[i] in "'\"":
            value, i = _quoted(text, i, raw)
        else:
            bare = _BARE.match(text, i)
            if not bare:
                raise AnswerFormatError(raw, f"{name}(...): argument {key!r} has no value")
            value, i = bare.group(), bare.end()
        if key in arguments or len(arguments) >= MAX_ARGUMENTS:
            raise AnswerFormatError(raw, f"{name}(...): repeated argument {key!r} or too many arguments")
        arguments[key] = value
        i = _skip_space(text, i)
        if i < len(text) and text[i] == ",":
            i = _skip_space(text, i + 1)
        elif i < len(text) and text[i] != ")":
            raise AnswerFormatError(raw, f"{name}(...): expected , or ) after argument {key!r}")
    if i >= len(text):
        raise AnswerFormatError(raw, f"{name}(...) is missing its closing parenthesis")
    if text[i + 1:].strip():
        raise AnswerFormatError(raw, f"unexpected text after {name}(...): {shown(text[i + 1:].strip())}")
    return name, arguments


def quote(value: str) -> str:
    """A value as the model writes it: single quotes, with \\\\, \\' and \\n escaped."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")
    return f"'{escaped}'"
