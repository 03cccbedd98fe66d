"""Parse a command line the way Android's shell (mksh) would, for the subset a device sees.

This exists so that escaping bugs in a client show: an unquoted `;`, `&&`, `|`, `$(...)`,
backtick, `>` or `#` in a line is *syntax* here, exactly as on a phone, never text. The
parser returns a tree; `sim.adbd.shell` expands and runs it against simulated programs
only — nothing on the host ever executes.

Supported: lists (`;`, `&`, newline), `&&`/`||`, pipelines `|`, simple commands with
`NAME=value` prefixes, redirections (`>`, `>>`, `<`, `N>`, `N>&M`), single quotes, double
quotes (where a backslash escapes dollar, backquote, double quote, backslash and newline),
backslash escapes, `$NAME`, `${NAME}`, `$?`, `$$`, `$#`, `$(...)`, backticks, `~` at word
start and `#` comments. Other syntax mksh knows (`(`, `)`, `<<`) is a ShellSyntaxError,
which is what an escaping bug deserves. Hand-written because `shlex` splits words but
knows no operators, substitutions or expansion.
"""

from dataclasses import dataclass

from vlagent.perception.errors import VlagentError

OPERATOR_CHARS = set(";&|<>()\n")
BLANKS = " \t"
SPECIAL_VARS = set("?$#!0123456789@*-")


class ShellSyntaxError(VlagentError, ValueError):
    """A line mksh would reject; the message reads like mksh's own."""


@dataclass(frozen=True)
class Part:
    """A piece of a word: kind is "lit", "var" (value = name) or "sub" (value = Script)."""

    kind: str
    value: object
    quoted: bool


@dataclass(frozen=True)
class Word:
    parts: tuple[Part, ...]
    # "" (a quoted empty string) is still a field; an unquoted empty expansion is not.
    has_quotes: bool = False


@dataclass(frozen=True)
class Redirect:
    fd: int
    op: str  # ">", ">>", "<", ">&"
    target: Word


@dataclass(frozen=True)
class Command:
    assignments: tuple[tuple[str, Word], ...]
    words: tuple[Word, ...]
    redirects: tuple[Redirect, ...]


@dataclass(frozen=True)
class Pipeline:
    commands: tuple[Command, ...]


@dataclass(frozen=True)
class AndOr:
    first: Pipeline
    rest: tuple[tuple[str, Pipeline], ...]


@dataclass(frozen=True)
class Script:
    items: tuple[AndOr, ...]


def parse(line: str) -> Script:
    """Parse a whole command line; raises ShellSyntaxError like mksh would."""
    parser = _Parser(line)
    script = parser.script(closing=None)
    return script


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0

    def peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.text[index] if index < len(self.text) else ""

    def error(self, token: str) -> ShellSyntaxError:
        shown = "newline" if token in ("", "\n") else token
        return ShellSyntaxError(f"syntax error: '{shown}' unexpected")

    def skip_blanks(self) -> None:
        while self.peek() and self.peek() in BLANKS:
            self.pos += 1
        if self.peek() == "#":  # a comment runs to the end of the line
            while self.peek() and self.peek() != "\n":
                self.pos += 1

    def script(self, closing: str | None) -> Script:
        items: list[AndOr] = []
        while True:
            self.skip_blanks()
            char = self.peek()
            if char == "":
                if closing is not None:
                    raise ShellSyntaxError(f"syntax error: unexpected end of input, missing '{closing}'")
                return Script(tuple(items))
            if char == closing:
                self.pos += 1
                return Script(tuple(items))
            if char == "\n":
                self.pos += 1
                continue
            if char in ";&|":
                raise self.error(self.operator_at())
            items.append(self.and_or(closing))
            self.skip_blanks()
            char = self.peek()
            if char in (";", "\n") or (char == "&" and self.peek(1) != "&"):
                self.pos += 1
            elif char not in ("", closing):
                raise self.error(self.operator_at())

    def operator_at(self) -> str:
        two = self.text[self.pos:self.pos + 2]
        return two if two in ("&&", "||", ";;", ">>", "<<", ">&") else self.peek()

    def and_or(self, closing: str | None) -> AndOr:
        first = self.pipeline(closing)
        rest = []
        while True:
            self.skip_blanks()
            op = self.text[self.pos:self.pos + 2]
            if op not in ("&&", "||"):
                return AndOr(first, tuple(rest))
            self.pos += 2
            self.skip_newlines()
            rest.append((op, self.pipeline(closing)))

    def skip_newlines(self) -> None:
        while True:
            self.skip_blanks()
            if self.peek() != "\n":
                return
            self.pos += 1

    def pipeline(self, closing: str | None) -> Pipeline:
        commands = [self.command(closing)]
        while True:
            self.skip_blanks()
            if self.peek() == "|" and self.peek(1) != "|":
                self.pos += 1
                self.skip_newlines()
                commands.append(self.command(closing))
            else:
                return Pipeline(tuple(commands))

    def command(self, closing: str | None) -> Command:
        assignments: list[tuple[str, Word]] = []
        words: list[Word] = []
        redirects: list[Redirect] = []
        while True:
            self.skip_blanks()
            char = self.peek()
            if char == "" or char == "\n" or char == closing:
                break
            if char in "<>" or (char.isdigit() and self._digits_then_redirect()):
                redirects.append(self.redirect())
                continue
            if char in OPERATOR_CHARS:
                if char in "()":
                    raise self.error(char)
                break
            start = self.pos
            word = self.word(closing)
            name, eq, _ = self.text[start:self.pos].partition("=")
            if not words and eq and name.isidentifier() and name.isascii():
                value_start = start + len(name) + 1
                assignments.append((name, _Parser(self.text[value_start:self.pos]).word(None)))
            else:
                words.append(word)
        if not words and not assignments and not redirects:
            raise self.error(self.operator_at())
        return Command(tuple(assignments), tuple(words), tuple(redirects))

    def _digits_then_redirect(self) -> bool:
        index = self.pos
        while index < len(self.text) and self.text[index].isdigit():
            index += 1
        return index < len(self.text) and self.text[index] in "<>"

    def redirect(self) -> Redirect:
        digits = ""
        while self.peek().isdigit():
            digits += self.peek()
            self.pos += 1
        op = self.operator_at()
        if op == "<<":
            raise ShellSyntaxError("syntax error: here-documents are not supported by the simulator")
        if op not in (">>", ">&"):
            op = self.peek()
        self.pos += len(op)
        self.skip_blanks()
        if self.peek() in OPERATOR_CHARS or self.peek() == "":
            raise self.error(self.operator_at())
        fd = int(digits) if digits else (0 if op == "<" else 1)
        return Redirect(fd, op, self.word(None))

    def word(self, closing: str | None) -> Word:
        parts: list[Part] = []
        has_quotes = False
        literal = ""
        at_start = True

        def flush() -> None:
            nonlocal literal
            if literal:
                parts.append(Part("lit", literal, False))
                literal = ""

        while True:
            char = self.peek()
            if char == "" or char in BLANKS or char in OPERATOR_CHARS or char == closing:
                break
            if char == "~" and at_start and self.peek(1) in ("", "/", " ", "\t", "\n", ";", "&", "|"):
                literal += "/"  # HOME is / in an adb shell
                self.pos += 1
            elif char == "\\":
                following = self.peek(1)
                self.pos += 2
                if following == "":
                    self.pos -= 1
                    literal += "\\"
                elif following != "\n":  # backslash-newline is a line continuation
                    flush()
                    parts.append(Part("lit", following, True))
                    has_quotes = True
            elif char == "'":
                end = self.text.find("'", self.pos + 1)
                if end < 0:
                    raise ShellSyntaxError("syntax error: unterminated quoted string")
                flush()
                parts.append(Part("lit", self.text[self.pos + 1:end], True))
                has_quotes = True
                self.pos = end + 1
            elif char == '"':
                flush()
                self.pos += 1
                parts.extend(self.double_quoted())
                has_quotes = True
            elif char == "$" or char == "`":
                part = self.dollar_or_backtick(quoted=False)
                if part is None:
                    literal += "$"
                else:
                    flush()
                    parts.append(part)
            else:
                literal += char
                self.pos += 1
            at_start = False
        flush()
        return Word(tuple(parts), has_quotes)

    def double_quoted(self) -> list[Part]:
        parts: list[Part] = []
        literal = ""
        while True:
            char = self.peek()
            if char == "":
                raise ShellSyntaxError("syntax error: unterminated quoted string")
            if char == '"':
                self.pos += 1
                break
            if char == "\\" and self.peek(1) in ("$", "`", '"', "\\", "\n"):
                if self.peek(1) != "\n":
                    literal += self.peek(1)
                self.pos += 2
            elif char in "$`":
                part = self.dollar_or_backtick(quoted=True)
                if part is None:
                    literal += "$"
                else:
                    if literal:
                        parts.append(Part("lit", literal, True))
                        literal = ""
                    parts.append(part)
            else:
                literal += char
                self.pos += 1
        parts.append(Part("lit", literal, True))  # keeps "" a (quoted, empty) field
        return parts

    def dollar_or_backtick(self, quoted: bool) -> Part | None:
        """Parse `$...` or a backtick substitution at pos; None for a lone literal `$`."""
        if self.peek() == "`":
            return Part("sub", self.backtick(), quoted)
        following = self.peek(1)
        if following == "(":
            if self.peek(2) == "(":
                raise ShellSyntaxError("syntax error: arithmetic $((...)) is not supported by the simulator")
            self.pos += 2
            return Part("sub", self.script(closing=")"), quoted)
        if following == "{":
            end = self.text.find("}", self.pos + 2)
            name = self.text[self.pos + 2:end] if end > 0 else ""
            if end < 0 or not (name.isidentifier() or name in SPECIAL_VARS):
                raise ShellSyntaxError(f"{self.text[self.pos:end + 1 if end > 0 else None]}: bad substitution")
            self.pos = end + 1
            return Part("var", name, quoted)
        if following and following in SPECIAL_VARS:
            self.pos += 2
            return Part("var", following, quoted)
        if following and (following.isalpha() or following == "_") and following.isascii():
            end = self.pos + 1
            while end < len(self.text) and (self.text[end].isalnum() or self.text[end] == "_") and self.text[end].isascii():
                end += 1
            name = self.text[self.pos + 1:end]
            self.pos = end
            return Part("var", name, quoted)
        self.pos += 1
        return None

    def backtick(self) -> Script:
        inner = ""
        index = self.pos + 1
        while True:
            if index >= len(self.text):
                raise ShellSyntaxError("syntax error: unterminated backquote")
            char = self.text[index]
            if char == "`":
                break
            if char == "\\" and index + 1 < len(self.text) and self.text[index + 1] in "`$\\":
                inner += self.text[index + 1]
                index += 2
                continue
            inner += char
            index += 1
        self.pos = index + 1
        return _Parser(inner).script(closing=None)
