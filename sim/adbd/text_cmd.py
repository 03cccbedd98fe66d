"""`grep`, `head`, `tail` and `wc`: the filters people pipe `dumpsys` and `getprop` into
(`dumpsys window | grep mCurrentFocus`). Subsets of toybox's options: grep -E -F -i -v -o
-c -q -e, head/tail -n N, wc -l -c. Regular expressions are Python's `re`, which covers the
extended syntax these one-liners use."""

import re

from vlagent.sim.adbd.shell import Output


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


def grep(argv: list[str], stdin: bytes) -> Output:
    flags, patterns, files = set(), [], []
    args = argv[1:]
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "-e" and index + 1 < len(args):
            patterns.append(args[index + 1])
            index += 2
            continue
        if arg.startswith("-") and len(arg) > 1 and not patterns and not files:
            flags.update(arg[1:])
        elif not patterns:
            patterns.append(arg)
        else:
            files.append(arg)
        index += 1
    if not patterns:
        return Output(b"", b"usage: grep [-EFivocq] [-e PATTERN] PATTERN [FILE...]\n", 2)
    texts = [p if "F" not in flags else re.escape(p) for p in patterns]
    try:
        regex = re.compile("|".join(f"(?:{t})" for t in texts).encode(), re.IGNORECASE if "i" in flags else 0)
    except re.error as error:
        return Output(b"", f"grep: bad regex: {error}\n".encode(), 2)
    out, count = [], 0
    for line in _lines(stdin):
        match = regex.search(line)
        if bool(match) != ("v" in flags):
            count += 1
            if "o" in flags and match:
                out.extend(m.group(0) + b"\n" for m in regex.finditer(line))
            else:
                out.append(line if line.endswith(b"\n") else line + b"\n")
    if "q" in flags:
        return Output(code=0 if count else 1)
    body = f"{count}\n".encode() if "c" in flags else b"".join(out)
    return Output(body, b"", 0 if count else 1)


def _count(args: list[str], default: int = 10) -> int:
    for index, arg in enumerate(args):
        if arg == "-n" and index + 1 < len(args) and args[index + 1].isdigit():
            return int(args[index + 1])
        if arg.startswith("-") and arg[1:].isdigit():
            return int(arg[1:])
    return default


def head(argv: list[str], stdin: bytes) -> Output:
    return Output(b"".join(_lines(stdin)[:_count(argv[1:])]))


def tail(argv: list[str], stdin: bytes) -> Output:
    count = _count(argv[1:])
    return Output(b"".join(_lines(stdin)[-count:] if count else []))


def wc(argv: list[str], stdin: bytes) -> Output:
    lines = stdin.count(b"\n")
    if "-l" in argv:
        return Output(f"{lines}\n".encode())
    if "-c" in argv:
        return Output(f"{len(stdin)}\n".encode())
    return Output(f"{lines} {len(stdin.split())} {len(stdin)}\n".encode())


PROGRAMS = {"grep": grep, "head": head, "tail": tail, "wc": wc}
