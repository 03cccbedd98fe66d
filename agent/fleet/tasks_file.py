"""The fleet's task file: one episode per line.

A line is a sim task id ("settings.wifi_on:1001") or an instruction in words. "@KIND " in front
("@adb Turn on Wi-Fi") restricts it to devices of that env kind; without it, a sim task id runs
on a sim phone and free text on any device. Blank lines and lines starting with "#" are skipped.
The same line twice is two episodes.
"""

from dataclasses import dataclass
from pathlib import Path

from vlagent.agent.errors import ConfigError

MAX_TASKS = 100_000


@dataclass(frozen=True)
class FleetTask:
    """One episode to run: the task reference, and the env kind that must run it (None: any)."""

    index: int
    task: str
    kind: str | None


def _is_sim_task(ref: str) -> bool:
    from vlagent.sim.tasks import TaskError, find_task

    try:
        find_task(ref)
    except TaskError:
        return False
    return True


def parse_tasks(text: str, known_kinds, source: str = "--tasks") -> list[FleetTask]:
    """The file's text -> tasks, numbered from 0 in file order. ConfigError names the line."""
    tasks: list[FleetTask] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        kind = None
        if line.startswith("@"):
            kind, _, line = line[1:].partition(" ")
            line = line.strip()
            if kind not in known_kinds:
                raise ConfigError(f"{source} line {number}: unknown env kind @{kind}; known: "
                                  f"{', '.join(sorted(known_kinds))}")
            if not line:
                raise ConfigError(f"{source} line {number}: @{kind} with no task after it")
        elif _is_sim_task(line):
            kind = "sim-phone"
        tasks.append(FleetTask(len(tasks), line, kind))
        if len(tasks) > MAX_TASKS:
            raise ConfigError(f"{source}: more than {MAX_TASKS} tasks")
    if not tasks:
        raise ConfigError(f"{source} holds no task (one task id or instruction per line)")
    return tasks


def read_tasks(path: Path, known_kinds) -> list[FleetTask]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read --tasks {path}: {error}") from None
    return parse_tasks(text, known_kinds, source=str(path))
