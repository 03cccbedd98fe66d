"""`vlagent fleet --envs SPECS --tasks FILE`: many episodes over many devices on Ray.

One agent loop per device, each a Ray actor placed on the node that holds the device
(agent.fleet). Without `--ray` a local Ray instance is started and stopped; with
`--ray ADDRESS` the fleet joins that cluster. Prints a rich progress display (episodes done,
succeeded, running, per device), then the aggregate table; writes one episode directory per
task, summary.json and index.html under `--out`. Exit status: 0 when every task has a recorded
outcome (whatever the success rate), 1 when some episode was lost (its workers died) or not
run, 2 for bad input, 130 after Ctrl-C.
"""

import time
from pathlib import Path
from typing import Annotated

import typer

from vlagent.agent.commands.common import build_config, parse_pairs, print_table


class _Display:
    """The live display on stderr: a bar over all episodes, and a table with one row per device
    (episodes done, succeeded, worker deaths, what it runs now)."""

    def __init__(self, devices, total: int):
        from rich.console import Console
        from rich.live import Live
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn())
        self.bar = self.progress.add_task("episodes", total=total)
        self.fleet = None
        self.live = Live(self, console=Console(stderr=True), refresh_per_second=4)

    def __rich__(self):
        from rich.console import Group
        from rich.markup import escape
        from rich.table import Table

        table = Table(box=None, pad_edge=False)
        for name in ("device", "done", "succeeded", "worker deaths", "now"):
            table.add_column(name, justify="left" if name in ("device", "now") else "right")
        for s in self.fleet.stats if self.fleet is not None else ():
            now = f"running {escape(s.running)}" if s.running else ("idle" if s.alive else "[red]gone[/]")
            table.add_row(escape(s.device), str(s.done), str(s.succeeded), str(s.died), now)
        return Group(self.progress.get_renderable(), table)

    def __enter__(self):
        self.live.__enter__()
        return self

    def __exit__(self, *exc_info):
        self.live.__exit__(*exc_info)

    def on_event(self, kind: str, row, stats, fleet) -> None:
        self.fleet = fleet
        done = sum(r.status not in ("pending", "running") for r in fleet.rows)
        succeeded = sum(r.success for r in fleet.rows)
        self.progress.update(self.bar, completed=done,
                             description=f"episodes: {succeeded} succeeded, {len(fleet.running)} running")


def fleet(
    envs: Annotated[str, typer.Option("--envs", help="Devices: adb:S1,adb:S2,sim-phone:1..8 (comma-separated; "
                                                     "A..B is a range).")] = None,
    tasks: Annotated[Path, typer.Option("--tasks", help="Task file: one task id or instruction per line "
                                                        "('@KIND ' restricts a line to an env kind).")] = None,
    policy: Annotated[str, typer.Option("--policy", help="Policy name, remote:URL[#MODEL] or module:factory.")] = None,
    out: Annotated[Path, typer.Option("--out", help="Output directory (default ./vlagent-fleet/TIMESTAMP).")] = None,
    ray_address: Annotated[str, typer.Option("--ray", help="Join this Ray cluster (default: start a local one).")] = None,
    max_steps: Annotated[int, typer.Option("--max-steps", help="Step budget per episode (the task's caps it).")] = None,
    max_seconds: Annotated[float, typer.Option("--max-seconds", help="Wall-time budget per episode, s.")] = None,
    max_attempts: Annotated[int, typer.Option("--max-attempts", help="Attempts per episode when workers die.")] = 3,
    config_file: Annotated[Path, typer.Option("--config", help="A TOML or YAML AgentConfig file.")] = None,
    env_opt: Annotated[list[str], typer.Option("--env-opt", help="Env option KEY=VALUE (repeatable).")] = None,
    policy_opt: Annotated[list[str], typer.Option("--policy-opt", help="Policy option KEY=VALUE (repeatable).")] = None,
    model: Annotated[Path, typer.Option("--model", help="Model for model policies (same as --policy-opt model=DIR).")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Run every task of --tasks once over the --envs devices, one Ray actor per device."""
    import json

    from vlagent.agent.commands.common import fail
    from vlagent.agent.fleet.devices import parse_devices
    from vlagent.agent.fleet.episode import fleet_policy_options
    from vlagent.agent.fleet.scheduler import run_fleet
    from vlagent.agent.fleet.summary import summary_data
    from vlagent.agent.fleet.tasks_file import read_tasks
    from vlagent.agent.registry import ENVS

    if not envs:
        fail("no devices: pass --envs, e.g. sim-phone:1..4")
    if tasks is None:
        fail("no tasks: pass --tasks FILE (one task id or instruction per line)")
    if max_attempts < 1:
        fail(f"--max-attempts must be at least 1, got {max_attempts}")
    devices = parse_devices(envs, ENVS)
    task_list = read_tasks(tasks, ENVS)
    config = build_config(config_file, {"policy": policy, "loop.max_steps": max_steps,
                                        "loop.max_seconds": max_seconds})
    options = {**config.policy_options, **parse_pairs(policy_opt, "--policy-opt"),
               **({"model": str(model.resolve())} if model is not None else {})}
    config = config.model_copy(update={
        "env_options": {**config.env_options, **parse_pairs(env_opt, "--env-opt")},
        "policy_options": fleet_policy_options(config.policy, options)})
    out = out if out is not None else Path("vlagent-fleet") / time.strftime("%Y%m%d-%H%M%S")
    with _Display(devices, len(task_list)) as display:
        try:
            result = run_fleet(devices, task_list, config.model_dump(mode="json"), out, ray_address=ray_address,
                               max_attempts=max_attempts, on_event=display.on_event)
        except KeyboardInterrupt:
            typer.echo(f"cancelled; finished episodes are in {out / 'episodes'}", err=True)
            raise typer.Exit(130) from None
    if not display.live.console.is_terminal:
        display.live.console.line()  # a pipe gets no newline after the live display's last line
    data = summary_data(result)
    if json_output:
        typer.echo(json.dumps({**data, "index": str(result.index)}, ensure_ascii=False))
    else:
        _print_table(result, data)
    complete = all(row.status not in ("lost", "not run", "cancelled") for row in result.rows)
    raise typer.Exit(0 if complete else 1)


def _print_table(result, data) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"vlagent fleet: {data['succeeded']}/{data['episodes']} succeeded, "
                        f"{data['episodes_per_minute']:.1f} episodes/min, {data['worker_deaths']} worker death(s)")
    for name in ("#", "task", "device", "success", "status", "steps", "s", "attempts"):
        table.add_column(name, justify="left" if name in ("task", "device", "status") else "right", no_wrap=True)
    for row in result.rows:
        table.add_row(str(row.index), escape(row.task), escape(row.device or "-"),
                      "[green]yes[/]" if row.success else "[red]no[/]", escape(row.status), str(row.steps),
                      f"{row.seconds:.1f}", str(row.attempts))
    print_table(table)
    typer.echo(f"episodes: {result.out_dir / 'episodes'}")
    typer.echo(f"report: {result.index}")
