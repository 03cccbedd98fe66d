"""`vlagent tasks [--json]`: list the simulator's task templates (id, instruction template, apps)."""

import typer


def tasks(
    json_output: bool = typer.Option(False, "--json", help="Print a JSON list instead of a table."),
) -> None:
    """List the simulated-phone task templates."""
    import json

    from vlagent.sim.tasks import TASKS

    rows = [
        {"id": t.id, "instruction": t.instruction, "apps": list(t.apps), "step_budget": t.step_budget, "tags": list(t.tags)}
        for t in TASKS.values()
    ]
    if json_output:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(rows)} task templates")
    for column in ("id", "instruction", "apps", "budget", "tags"):
        table.add_column(column, overflow="fold", no_wrap=column == "id")
    for row in rows:
        table.add_row(row["id"], row["instruction"], ", ".join(row["apps"]), str(row["step_budget"]), ", ".join(row["tags"]))
    Console().print(table)
