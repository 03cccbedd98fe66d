"""`vlagent demo [--robot]`: the perceive-reason-act loop with a shipped model on fixed sim tasks.

Runs offline and without torch (ONNX engine). See `agent.demo` (the phone) and
`agent.robot_demo` (`--robot`: sim-robot and ros2-node processes over loopback DDS) for what is
run and measured. Exit status: 0 when the demo ran (whatever the success rate), 2 for bad input.
"""

from pathlib import Path
from typing import Annotated

import typer

from vlagent.agent.commands.common import print_table


def _progress():
    """The demos' progress bar (task, bar, done/total, elapsed) on stderr."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    return Progress(*columns, console=Console(stderr=True), transient=False)


def _task_list(tasks: list[str] | None) -> list[str] | None:
    if not tasks:
        return None
    return [ref for item in tasks for ref in item.split(",") if ref.strip()]


def demo(
    model: Annotated[Path, typer.Option("--model", help="An exported package (default: the shipped model).")] = None,
    out: Annotated[Path, typer.Option("--out", help="Output directory (default ./vlagent-demo/TIMESTAMP).")] = None,
    tasks: Annotated[list[str], typer.Option(
        "--tasks", help="Sim task ids (template:seed), comma-separated or repeated (default: the demo set).")] = None,
    all_templates: Annotated[bool, typer.Option(
        "--all", help="One task per sim task template (all 33), at seeds no training set uses.")] = False,
    seeds: Annotated[int, typer.Option("--seeds", help="With --all: tasks per template (default 1).")] = 1,
    threads: Annotated[int, typer.Option("--threads", help="onnxruntime intra-op threads (default 1: the model is tiny).")] = None,
    robot: Annotated[bool, typer.Option("--robot", help="The robot demo: sim-robot + ros2-node over loopback DDS, "
                                                        "the shipped robot grounding model, robot tasks.")] = False,
    grounder: Annotated[str, typer.Option("--grounder", help="With --robot: model (default) or sim-truth (the "
                                                             "simulator's true boxes: the servo's ceiling).")] = "model",
) -> None:
    """Run the agent with the shipped model on sim tasks; print a table; write episodes and an HTML report."""
    if robot:
        if grounder not in ("model", "sim-truth"):
            from vlagent.agent.commands.common import fail

            fail(f"--grounder must be model or sim-truth, got {grounder!r}")
        _robot_demo(model, out, _task_list(tasks), threads, grounder)
        return
    from rich.markup import escape
    from rich.table import Table

    from vlagent.agent.commands.common import fail
    from vlagent.agent.demo import (
        ALL_MAX_STEPS,
        DEMO_MAX_STEPS,
        DEMO_TASKS,
        STAGE_COLUMNS,
        all_template_tasks,
        run_demo,
    )

    if all_templates and tasks:
        fail("--all and --tasks are two task sets: give one of them")
    if seeds != 1 and not all_templates:
        fail("--seeds goes with --all (tasks per template)")
    chosen = all_template_tasks(seeds) if all_templates else _task_list(tasks) or list(DEMO_TASKS)
    with _progress() as progress:
        bar = progress.add_task("demo", total=len(chosen))

        def on_task(ref: str, index: int) -> None:
            progress.update(bar, completed=index, description=f"{escape(ref)}: step 0")

        def on_step(ref: str, data) -> None:
            action = data.decision.action.type if data.decision is not None else data.event or "-"
            progress.update(bar, description=f"{escape(ref)}: step {data.step + 1} {escape(action)}")

        result = run_demo(model, out, chosen, threads=threads, on_task=on_task, on_step=on_step,
                          approve_sensitive=all_templates, max_steps=ALL_MAX_STEPS if all_templates else DEMO_MAX_STEPS)
        progress.update(bar, completed=len(chosen), description="done")

    table = Table(title=f"vlagent demo: {sum(o.success for o in result.outcomes)}/{len(result.outcomes)} succeeded",
                  caption="p50 latency per stage, ms; step = capture + preprocess + model + act")
    for name in ("task", "success", "steps", *STAGE_COLUMNS):
        table.add_column(name, justify="left" if name == "task" else "right", no_wrap=True)
    for o in result.outcomes:
        table.add_row(o.task, "[green]yes[/]" if o.success else "[red]no[/]", str(o.steps),
                      *(f"{o.p50_ms.get(c, 0.0):.1f}" for c in STAGE_COLUMNS))
    table.add_row("all steps", f"{result.success_rate:.0%}", str(sum(o.steps for o in result.outcomes)),
                  *(f"{result.p50_ms.get(c, 0.0):.1f}" for c in STAGE_COLUMNS))
    print_table(table)
    typer.echo(f"episodes: {result.out_dir / 'episodes'}")
    typer.echo(f"report: {result.index}")


def _ms(p50: dict, stage: str) -> str:
    return f"{p50[stage]:.1f}" if stage in p50 else "-"  # "-": the stage did not run (no model with sim-truth)


def _robot_demo(model, out, tasks, threads, grounder: str) -> None:
    from rich.markup import escape
    from rich.table import Table

    from vlagent.agent.robot_demo import (
        ROBOT_DEMO_TASKS,
        ROBOT_TABLE_STAGES,
        check_robot_tasks,
        preflight,
        resolve_robot_model,
        run_robot_demo,
    )

    chosen = check_robot_tasks(tasks or ROBOT_DEMO_TASKS)
    model = resolve_robot_model(model)
    preflight(chosen[0])
    with _progress() as progress:
        bar = progress.add_task("robot demo", total=len(chosen))

        def on_task(ref: str, index: int) -> None:
            progress.update(bar, completed=index, description=f"{escape(ref)}: sim-robot + ros2-node")

        result = run_robot_demo(model, out, chosen, threads=threads, on_task=on_task, grounder=grounder)
        progress.update(bar, completed=len(chosen), description="done")

    title = "vlagent demo --robot" + (" (sim-truth grounder)" if grounder != "model" else "")
    table = Table(title=f"{title}: {sum(o.success for o in result.outcomes)}/{len(result.outcomes)} succeeded",
                  caption="p50 latency per stage, ms: frame age at hand-over, preprocess, model (vision + prefill + "
                          "decode), decide (the whole policy call)")
    for name in ("task", "success", "time s", "decisions/s", *ROBOT_TABLE_STAGES, "verdict"):
        table.add_column(name, justify="left" if name in ("task", "verdict") else "right", no_wrap=name != "verdict")
    for o in result.outcomes:
        table.add_row(o.task, "[green]yes[/]" if o.success else "[red]no[/]", f"{o.seconds:.1f}",
                      f"{o.decisions_per_s:.1f}", *(_ms(o.p50_ms, c) for c in ROBOT_TABLE_STAGES),
                      escape(o.reason))
    table.add_row("all tasks", f"{result.success_rate:.0%}", f"{sum(o.seconds for o in result.outcomes):.1f}", "",
                  *(_ms(result.p50_ms, c) for c in ROBOT_TABLE_STAGES), "")
    print_table(table, width=160)
    typer.echo(f"bags: {result.out_dir / 'bags'}")
    typer.echo(f"report: {result.index}")
