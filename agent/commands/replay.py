"""`vlagent replay EPISODES... --policy P`: offline teacher-forced step accuracy.

Each EPISODES item is an episode directory, a directory searched for episode
directories (a dataset), or an AndroidControl JSON/JSONL file (imported on the fly into a
temporary directory; see agent.importers.androidcontrol). Prints a per-episode and an
aggregate table, or JSON with --json. Exit status 0 when everything was scored.

Robot bags: when every item is a rosbag2 bag (a directory with metadata.yaml, or a .mcap file),
each camera frame goes through the policy and its velocity is scored against the recorded
command (sign agreement of linear and angular, mean absolute error; see agent.bag_replay).
"""

from pathlib import Path
from typing import Annotated

import typer

from vlagent.agent.commands.common import fail, parse_pairs


def find_episodes(paths: list[Path], scratch: Path) -> list[Path]:
    """Episode directories named by `paths`, importing AndroidControl files into `scratch`."""
    from vlagent.agent.errors import EpisodeFormatError
    from vlagent.agent.importers.androidcontrol import import_file

    found: list[Path] = []
    for path in paths:
        if path.is_file() and path.suffix in (".json", ".jsonl") and path.name != "episode.json":
            try:
                found += import_file(path, scratch / f"{len(found)}-{path.stem}")
            except EpisodeFormatError as error:
                fail(str(error))
        elif (path / "episode.json").is_file() or path.name == "episode.json":
            found.append(path if path.is_dir() else path.parent)
        elif path.is_dir():
            found += sorted(p.parent for p in path.rglob("episode.json"))
        else:
            fail(f"{path}: not an episode directory, a dataset directory or an AndroidControl JSON file")
    if not found:
        fail("no episodes found")
    return found


def is_bag(path: Path) -> bool:
    """A rosbag2 bag: a directory with metadata.yaml, or one .mcap file."""
    return (path.is_dir() and (path / "metadata.yaml").is_file()) or (path.is_file() and path.suffix == ".mcap")


def _percent(value) -> str:
    return "-" if value is None else f"{value:.1%}"


def _error(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def replay_bags(bags: list[Path], policy: str, options: dict, camera: str | None, reference: str | None,
                task: str | None, json_output: bool) -> None:
    """Score `policy` on robot bags (see agent.bag_replay) and print a table or JSON."""
    import json

    from rich.console import Console
    from rich.table import Table

    from vlagent.agent.bag_replay import score_bag
    from vlagent.agent.registry import PolicyContext, make_policy

    scores = []
    for bag in bags:
        the_policy = make_policy(policy, PolicyContext(options=options))
        scores.append(score_bag(bag, the_policy, task=task, camera_topic=camera, reference_topic=reference))
    if json_output:
        typer.echo(json.dumps({"policy": policy, "bags": [s.to_dict() for s in scores]}))
        return
    table = Table(title=f"Robot bags: {policy} against the recorded commands")
    for column in ("bag", "frames", "scored", "linear sign", "angular sign", "linear MAE m/s", "angular MAE rad/s"):
        table.add_column(column, justify="left" if column == "bag" else "right")
    for score in scores:
        row = score.to_dict()
        table.add_row(str(score.path), str(score.frames), str(score.scored), _percent(row["linear_sign_agreement"]),
                      _percent(row["angular_sign_agreement"]), _error(row["linear_mae"]), _error(row["angular_mae"]))
    Console().print(table)


def _tables(scores, aggregate):
    from rich.table import Table

    table = Table(title="Episodes")
    for column in ("episode", "steps", "type acc", "step acc", "cut off"):
        table.add_column(column, justify="left" if column == "episode" else "right")
    for score, episode in scores:
        tally = score.tally
        table.add_row(str(episode.path), str(tally.steps), f"{tally.type_accuracy:.1%}", f"{tally.step_accuracy:.1%}",
                      "-" if episode.cut_off_step is None else str(episode.cut_off_step))
    summary = Table(title="Aggregate (micro-averaged over steps)")
    for column in ("action type", "steps", "matches", "accuracy"):
        summary.add_column(column, justify="left" if column == "action type" else "right")
    for kind, count in sorted(aggregate.by_type.items()):
        matches = aggregate.matches_by_type[kind]
        summary.add_row(kind, str(count), str(matches), f"{matches / count:.1%}")
    summary.add_row("[bold]all (type match)[/]", str(aggregate.steps), str(aggregate.type_matches),
                    f"{aggregate.type_accuracy:.1%}")
    summary.add_row("[bold]all (step match)[/]", str(aggregate.steps), str(aggregate.matches),
                    f"{aggregate.step_accuracy:.1%}")
    return table, summary


def replay(
    episodes: Annotated[list[Path], typer.Argument(help="Episode dirs, dataset dirs, or AndroidControl JSON files.")],
    policy: Annotated[str, typer.Option(
        "--policy", help="Policy name (see agent.registry.POLICIES) or package.module:factory.")],
    policy_opt: Annotated[list[str], typer.Option("--policy-opt", help="Policy option KEY=VALUE (repeatable).")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print per-episode and aggregate scores as JSON.")] = False,
    camera: Annotated[str, typer.Option("--camera", help="Bags: the camera topic (default: the one image topic).")] = None,
    reference: Annotated[str, typer.Option(
        "--reference", help="Bags: the recorded velocity topic (default: /vlagent/decision, else the one Twist topic).")] = None,
    task: Annotated[str, typer.Option("--task", help="Bags: the instruction, when the bag records none.")] = None,
) -> None:
    """Score a policy offline against recorded episodes (teacher forcing) or robot bags."""
    import json
    import tempfile

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from vlagent.agent.episode import load_episode
    from vlagent.agent.errors import EpisodeFormatError
    from vlagent.agent.metrics import Tally
    from vlagent.agent.registry import PolicyContext, RegistryError, make_policy
    from vlagent.agent.replay import score_episode

    options = parse_pairs(policy_opt, "--policy-opt")
    bags = [path for path in episodes if is_bag(path)]
    if bags:
        if len(bags) != len(episodes):
            fail("give either robot bags or phone episodes, not both: " + ", ".join(
                str(p) for p in episodes if not is_bag(p)) + " are not bags")
        replay_bags(bags, policy, options, camera, reference, task, json_output)
        return
    console = Console(stderr=True)
    with tempfile.TemporaryDirectory(prefix="vlagent-import-") as scratch:
        try:
            loaded = [load_episode(path) for path in find_episodes(list(episodes), Path(scratch))]
        except EpisodeFormatError as error:
            fail(str(error))
        scores, aggregate = [], Tally()
        total = sum(sum(1 for s in e.steps if s.get("action") is not None) for e in loaded)
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=True) as progress:
            bar = progress.add_task("replaying", total=total)
            for episode in loaded:
                progress.update(bar, description=episode.path.name)
                try:
                    the_policy = make_policy(policy, PolicyContext(episode_meta=episode.meta, options=options))
                except (RegistryError, ValueError, OSError) as error:
                    fail(f"{episode.path}: cannot make policy {policy!r}: {error}")
                try:
                    score = score_episode(episode, the_policy, on_step=lambda *_: progress.advance(bar))
                except EpisodeFormatError as error:
                    fail(f"{episode.path}: {error}")
                scores.append((score, episode))
                aggregate.merge(score.tally)
    if json_output:
        typer.echo(json.dumps({"policy": policy, "aggregate": aggregate.to_dict(),
                               "episodes": [{**s.to_dict(), "cut_off_step": e.cut_off_step} for s, e in scores]}))
        return
    out = Console()
    for table in _tables(scores, aggregate):
        out.print(table)
