"""Run a parsed command line against simulated programs; nothing runs on the host.

`Shell.run(line)` parses with `sim.adbd.shparse`, expands words (variables, command
substitution, field splitting of unquoted expansions), and runs each simple command by
looking its name up in a table of Python functions (`Program`). Every simple command that
runs — including those inside `$(...)` — is appended to `Shell.log` as its argv, so a test
can prove that a typed string never became a command. Unknown names fail as mksh does
(`inaccessible or not found`, exit 127). Output is bytes; exit codes are 0-255.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from vlagent.sim.adbd.shparse import AndOr, Command, Pipeline, Script, ShellSyntaxError, Word, parse

SH = "/system/bin/sh"
IFS = " \t\n"


@dataclass
class Output:
    """What a command wrote, and its exit status (0-255)."""

    stdout: bytes = b""
    stderr: bytes = b""
    code: int = 0


# A program gets (argv, stdin bytes) and returns its Output.
Program = Callable[[list[str], bytes], Output]


class _Exit(Exception):
    def __init__(self, code: int):
        self.code = code


@dataclass
class Shell:
    """A tiny mksh stand-in: `programs` maps command names to Python functions; `files` is
    the in-memory file system redirections and `cat` use; `log` records every argv run."""

    programs: dict[str, Program]
    files: dict[str, bytes] = field(default_factory=dict)
    log: list[list[str]] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=lambda: {
        "HOME": "/", "PATH": "/product/bin:/apex/com.android.runtime/bin:/system/bin:/system/xbin",
        "USER": "shell", "SHELL": SH, "TMPDIR": "/data/local/tmp", "HOSTNAME": "sim"})
    pid: int = 4242

    def run(self, line: str, stdin: bytes = b"") -> Output:
        """Parse and run a whole line; a syntax error runs nothing (exit 1, like mksh)."""
        try:
            script = parse(line)
        except ShellSyntaxError as error:
            return Output(b"", f"{SH}: {error}\n".encode(), 1)
        out = Output()
        try:
            self._script(script, stdin, out)
        except _Exit as done:
            out.code = done.code
        return out

    def _script(self, script: Script, stdin: bytes, out: Output) -> None:
        for item in script.items:
            self._and_or(item, stdin, out)

    def _and_or(self, item: AndOr, stdin: bytes, out: Output) -> None:
        self._pipeline(item.first, stdin, out)
        for op, pipeline in item.rest:
            if (op == "&&") == (out.code == 0):
                self._pipeline(pipeline, stdin, out)

    def _pipeline(self, pipeline: Pipeline, stdin: bytes, out: Output) -> None:
        data = stdin
        for position, command in enumerate(pipeline.commands):
            last = position == len(pipeline.commands) - 1
            step = Output()
            self._command(command, data, step)
            out.stderr += step.stderr
            if last:
                out.stdout += step.stdout
            data = step.stdout
            out.code = step.code
        self.env["?"] = str(out.code)

    def _command(self, command: Command, stdin: bytes, out: Output) -> None:
        argv: list[str] = []
        for word in command.words:
            argv.extend(self._fields(word, out))
        values = {name: "".join(self._fields(word, out, split=False)) for name, word in command.assignments}
        if not argv:
            self.env.update(values)
            return
        for redirect in command.redirects:
            if redirect.op == "<":
                target = "".join(self._fields(redirect.target, out, split=False))
                if target not in self.files:
                    out.stderr += f"{SH}: can't open {target}: No such file or directory\n".encode()
                    out.code = 1
                    return
                stdin = self.files[target]
        self.log.append(argv)
        result = self._exec(argv, stdin)
        self._redirect(command, result, out)
        self.env["?"] = str(out.code)

    def _redirect(self, command: Command, result: Output, out: Output) -> None:
        streams = {1: result.stdout, 2: result.stderr}
        for redirect in command.redirects:
            if redirect.op == "<":
                continue
            target = "".join(self._fields(redirect.target, out, split=False))
            if redirect.op == ">&":
                if target in ("1", "2"):
                    streams[redirect.fd] = b""
                    streams[int(target)] += result.stderr if redirect.fd == 2 else result.stdout
                continue
            data = streams.get(redirect.fd, b"")
            streams[redirect.fd] = b""
            if target != "/dev/null":
                previous = self.files.get(target, b"") if redirect.op == ">>" else b""
                self.files[target] = previous + data
        out.stdout += streams[1]
        out.stderr += streams[2]
        out.code = result.code

    def _exec(self, argv: list[str], stdin: bytes) -> Output:
        name = argv[0]
        if name == "exit":
            raise _Exit(int(argv[1]) & 0xFF if len(argv) > 1 and argv[1].isdigit() else int(self.env.get("?", "0")))
        if name in ("true", ":"):
            return Output()
        if name == "false":
            return Output(code=1)
        if name == "echo":
            newline = not (len(argv) > 1 and argv[1] == "-n")
            words = argv[2:] if not newline else argv[1:]
            return Output((" ".join(words) + ("\n" if newline else "")).encode())
        if name == "sleep":
            return _sleep(argv)
        program = self.programs.get(name.rsplit("/", 1)[-1])
        if program is None:
            return Output(b"", f"{SH}: {name}: inaccessible or not found\n".encode(), 127)
        return program(argv, stdin)

    def _fields(self, word: Word, out: Output, split: bool = True) -> list[str]:
        """Expand a word into fields (0 or more strings): unquoted expansions split on IFS."""
        fields: list[str] = []
        current, have = "", False
        for part in word.parts:
            if part.kind == "lit":
                current += part.value
                have = have or part.quoted or bool(part.value)
                continue
            value = self._expand(part, out)
            if part.quoted or not split:
                current += value
                have = True
                continue
            for char in value:
                if char not in IFS:
                    current, have = current + char, True
                elif have:
                    fields.append(current)
                    current, have = "", False
        if have:
            fields.append(current)
        return fields

    def _expand(self, part, out: Output) -> str:
        if part.kind == "var":
            if part.value == "$":
                return str(self.pid)
            if part.value == "#":
                return "0"
            return self.env.get(part.value, "")
        inner = Output()
        saved = self.env.get("?", "0")
        try:
            self._script(part.value, b"", inner)
        except _Exit as done:
            inner.code = done.code
        out.stderr += inner.stderr
        self.env["?"] = saved if inner.code == 0 else str(inner.code)
        return inner.stdout.decode("utf-8", errors="surrogateescape").rstrip("\n")


def _sleep(argv: list[str]) -> Output:
    try:
        seconds = float(argv[1]) if len(argv) > 1 else -1.0
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        return Output(b"", b"sleep: invalid number\n", 1)
    time.sleep(min(seconds, 60.0))
    return Output()
