"""Helpers shared by the agent commands: KEY=VALUE options, config assembly, clean failures.

Only typer at module level; everything else is imported where it is used.
"""

import json
from pathlib import Path
from typing import Any, NoReturn

import typer

USAGE_ERROR = 2


def fail(message: str, code: int = USAGE_ERROR) -> NoReturn:
    """Print `message` to stderr and exit with `code` (2: bad input or setup)."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def parse_pairs(items: list[str] | None, what: str) -> dict[str, Any]:
    """["width=540", "fresh=true", "name=x"] -> {"width": 540, "fresh": True, "name": "x"}.

    Values are read as JSON when they parse (numbers, booleans, lists), else kept as text.
    """
    pairs: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            fail(f"{what} {item!r} is not KEY=VALUE")
        try:
            pairs[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            pairs[key.strip()] = value
    return pairs


def build_config(config_file: Path | None, overrides: dict[str, Any]):
    """Defaults < `config_file` < `overrides` (dotted keys; None values are skipped)."""
    from vlagent.agent.config import AgentConfig, apply_overrides, load_config

    config = load_config(config_file) if config_file is not None else AgentConfig()
    return apply_overrides(config, overrides)


def open_env_or_fail(spec: str, options: dict[str, Any], fresh: bool = False):
    """Open the env named by `spec`; `fresh` asks a stateful env (the sim phone) to ignore
    its saved state. Errors propagate to the CLI boundary (`vlagent.agent.cli.guarded`)."""
    from vlagent.agent.registry import open_env

    return open_env(spec, {**options, "fresh": True} if fresh else options)


def say_state(env, console=None) -> None:
    """Tell the user (stderr) where the env keeps state between commands, if it does."""
    path = getattr(env, "state_file", None)
    if path is None:
        return
    line = (f"state: {path} (kept between commands; --fresh starts a new phone)" if not getattr(env, "fresh", False)
            else f"state: {path} (fresh phone; saved there afterwards)")
    if console is not None:
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    else:
        typer.echo(line, err=True)


def print_table(table, width: int = 140) -> None:
    """Print a rich table on stdout; to a pipe at `width` columns (rich's 80-column default for a
    pipe would truncate task ids)."""
    from rich.console import Console

    stdout = Console()
    if not stdout.is_terminal:
        stdout = Console(width=width)
    stdout.print(table)


FRESH_HELP = "Ignore the env's saved state (the sim phone's state file) and start fresh."
