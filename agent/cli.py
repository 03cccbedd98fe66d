"""The `vlagent` command line.

Every subcommand lives in its own module under `agent.commands` and is registered here,
explicitly, in one list. Command modules import only typer at module level so that
`vlagent --help` stays fast and never imports torch.
"""

import typer

from vlagent.agent.commands.act import act
from vlagent.agent.commands.demo import demo
from vlagent.agent.commands.export import export
from vlagent.agent.commands.ground import ground
from vlagent.agent.commands.import_episodes import import_androidcontrol
from vlagent.agent.commands.model_info import model_info
from vlagent.agent.commands.observe import observe
from vlagent.agent.commands.replay import replay
from vlagent.agent.commands.report import report
from vlagent.agent.commands.run import run
from vlagent.agent.commands.sim_device import sim_device
from vlagent.agent.commands.tasks import tasks
from vlagent.agent.commands.train_demo import train_demo
from vlagent.agent.commands.version import version

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
}



@app.callback()
def _root() -> None:
    """A visual agent runtime for phones and robots."""


for _name, _function in COMMANDS.items():
    app.command(_name)(_function)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
