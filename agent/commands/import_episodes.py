"""`vlagent import-androidcontrol FILE -o DIR`: convert AndroidControl JSON episodes into
vlagent episode directories (one per episode, named by episode_id), for replay and report."""

from pathlib import Path
from typing import Annotated

import typer

from vlagent.agent.commands.common import fail


def import_androidcontrol(
    source: Annotated[Path, typer.Argument(help="An AndroidControl .json or .jsonl file.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="Directory to write episode directories into.")],
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace episodes already there.")] = False,
) -> None:
    """Import AndroidControl episodes (see agent.importers.androidcontrol for the layout)."""
    from vlagent.agent.errors import EpisodeFormatError
    from vlagent.agent.importers.androidcontrol import import_file
    from vlagent.agent.recorder import RecorderError

    try:
        written = import_file(source, output, overwrite=overwrite)
    except (EpisodeFormatError, RecorderError) as error:
        fail(str(error))
    for path in written:
        typer.echo(str(path))
