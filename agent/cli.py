"""The `vlagent` command line, and its one error boundary.

Every subcommand lives in its own module under `vlagent.agent.commands` and is registered
here, explicitly, in one list. Command modules import only typer at module level so that
`vlagent --help` stays fast and never imports torch.

The boundary (`guarded`, wrapped around every command): a `VlagentError` becomes one line
`error: MESSAGE` on stderr, then `hint: ...` when the error carries one, exit status 2; an
OSError (a file that cannot be read, a port in use) the same; Ctrl-C prints `cancelled`
and exits 130; any other exception is a bug in vlagent: one line naming it, exit status 3.
`vlagent --debug COMMAND ...` (or `--debug` anywhere before `--`, or VLAGENT_DEBUG=1) lets
the exception propagate with its traceback instead.
"""

import functools
import importlib
import os
import sys
from collections.abc import Callable

import typer

from vlagent.agent.commands.act import act
from vlagent.agent.commands.demo import demo
from vlagent.agent.commands.export import export
from vlagent.agent.commands.fleet import fleet
from vlagent.agent.commands.ground import ground
from vlagent.agent.commands.import_episodes import import_androidcontrol
from vlagent.agent.commands.model_info import model_info
from vlagent.agent.commands.observe import observe
from vlagent.agent.commands.replay import replay
from vlagent.agent.commands.report import report
from vlagent.agent.commands.ros2_node import ros2_node
from vlagent.agent.commands.run import run
from vlagent.agent.commands.serve import serve
from vlagent.agent.commands.sim_device import sim_device
from vlagent.agent.commands.sim_robot import sim_robot
from vlagent.agent.commands.tasks import tasks
from vlagent.agent.commands.train_demo import train_demo
from vlagent.agent.commands.train_robot import train_robot
from vlagent.agent.commands.version import version

# The click that typer runs on: typer 0.29 vendors its own (typer._click), older ones use
# click itself. Found through typer.Context's click base class, so that the current context
# and the exception classes are the ones typer really uses.
_click = importlib.import_module(
    next(c for c in typer.Context.__mro__ if c.__module__.endswith(".core")).__module__.rsplit(".", 1)[0])
_click_globals = importlib.import_module(_click.__name__ + ".globals")
_click_exceptions = importlib.import_module(_click.__name__ + ".exceptions")
_PASS_THROUGH = (typer.Exit, typer.Abort, _click_exceptions.ClickException,
                 *(getattr(_click_exceptions, name) for name in ("Exit", "Abort") if hasattr(_click_exceptions, name)))

app = typer.Typer(
    name="vlagent",
    help="A visual agent runtime for phones and robots.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

COMMANDS = {
    "version": version,
    "run": run,
    "replay": replay,
    "report": report,
    "observe": observe,
    "act": act,
    "import-androidcontrol": import_androidcontrol,
    "model-info": model_info,
    "sim-device": sim_device,
    "export": export,
    "tasks": tasks,
    "ground": ground,
    "demo": demo,
    "train-demo": train_demo,
    "train-robot": train_robot,
    "serve": serve,
    "fleet": fleet,
    "ros2-node": ros2_node,
    "sim-robot": sim_robot,
}



EXIT_USAGE = 2  # bad input or setup: the error line says what
EXIT_INTERNAL = 3  # a bug in vlagent
EXIT_CANCELLED = 130


@app.callback()
def _root(ctx: typer.Context, debug: bool = typer.Option(
        False, "--debug", help="Show tracebacks instead of one-line errors (also VLAGENT_DEBUG=1).")) -> None:
    """A visual agent runtime for phones and robots."""
    ctx.meta["vlagent.debug"] = debug


def _debugging() -> bool:
    if os.environ.get("VLAGENT_DEBUG", "").lower() in ("1", "true", "yes"):
        return True
    context = _click_globals.get_current_context(silent=True)
    return bool(context is not None and context.meta.get("vlagent.debug"))


def _say(line: str) -> None:
    try:
        typer.echo(line, err=True)
    except Exception:  # noqa: BLE001 - stderr itself is gone (a closed pipe): nothing left to tell
        pass


def guarded(command: Callable) -> Callable:
    """`command` behind the CLI's error boundary (see the module docstring)."""

    @functools.wraps(command)
    def run_guarded(*args, **kwargs):
        from vlagent.agent.errors import VlagentError, error_text

        try:
            return command(*args, **kwargs)
        except _PASS_THROUGH:  # exits, aborts and usage errors: click reports those itself
            raise
        except (VlagentError, OSError) as error:
            if _debugging():
                raise
            _say(f"error: {error_text(error)}")
            hint = getattr(error, "hint", None)
            if hint:
                _say(f"hint: {hint}")
            raise typer.Exit(EXIT_USAGE) from None
        except KeyboardInterrupt:
            if _debugging():
                raise
            _say("cancelled")
            raise typer.Exit(EXIT_CANCELLED) from None
        except Exception as error:  # noqa: BLE001 - the boundary: anything else is a bug, said in one line
            if _debugging():
                raise
            _say(f"error: internal error: {error_text(error, with_type=True)}")
            _say("hint: this is a bug in vlagent; rerun with --debug for the traceback and report it")
            raise typer.Exit(EXIT_INTERNAL) from None

    return run_guarded


for _name, _function in COMMANDS.items():
    app.command(_name)(guarded(_function))


def hoist_debug(argv: list[str]) -> list[str]:
    """Move `--debug` given after the subcommand (before any `--`) to the front, where the
    root option is parsed: `vlagent run ... --debug` means `vlagent --debug run ...`."""
    head = argv[:argv.index("--")] if "--" in argv else argv
    if "--debug" not in head:
        return argv
    rest = [arg for arg in head if arg != "--debug"] + argv[len(head):]
    return ["--debug", *rest]


def main() -> None:
    """Console-script entry point."""
    app(args=hoist_debug(sys.argv[1:]), prog_name="vlagent")


if __name__ == "__main__":
    main()
