"""`vlagent report EPISODE -o report.html`: a self-contained HTML page of one episode, and
its animation (GIF or WebP) written next to it."""

from pathlib import Path
from typing import Annotated

import typer

from vlagent.agent.commands.common import fail


def report(
    episode: Annotated[Path, typer.Argument(help="An episode directory.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="HTML file to write (default EPISODE/report.html).")] = None,
    animation: Annotated[str, typer.Option("--animation", help="gif, webp or none.")] = "gif",
) -> None:
    """Render an episode as one HTML file: frames with overlays, model text, actions, safety, timings."""
    from vlagent.agent.animation import episode_animation
    from vlagent.agent.episode import load_episode
    from vlagent.agent.errors import EpisodeFormatError
    from vlagent.agent.report import write_report

    if animation not in ("gif", "webp", "none"):
        fail(f"--animation must be gif, webp or none, got {animation!r}")
    try:
        loaded = load_episode(episode)
    except EpisodeFormatError as error:
        fail(str(error))
    for note in loaded.notes:
        typer.echo(f"note: {note}", err=True)
    output = output or loaded.path / "report.html"
    movie = episode_animation(loaded, animation) if animation != "none" and loaded.steps else None
    written = write_report(loaded, output, animation=animation, animation_data=movie)
    typer.echo(str(written))
    if movie is not None:
        movie_path = written.with_suffix(f".{animation}")
        movie_path.write_bytes(movie[0])
        typer.echo(str(movie_path))
