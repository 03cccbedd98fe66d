"""`vlagent act --env ENV ACTION_JSON`: execute one Action through the safety gate.

The action is in frame px of a frame captured just before (full resolution for the sim,
so frame px == device px there). Prints the ActionResult, the safety decision and the
action in device px as JSON; exit status 0 when the action succeeded (or, with --dry-run,
would have been allowed), 1 when it was denied or failed, 2 for bad input. The step is the
loop's (`vlagent.agent.step.gated_execute`): durations capped by `loop.max_action_seconds`,
the UI tree read on demand for the gate. The env's state is saved afterwards (the sim's
state file, whose path is printed on stderr; `--fresh` starts from a new phone).
"""

from pathlib import Path
from typing import Annotated

import typer

from vlagent.agent.commands.common import (
    FRESH_HELP,
    build_config,
    open_env_or_fail,
    parse_pairs,
    say_state,
)


def act(
    action_json: Annotated[str, typer.Argument(help='An Action as JSON, e.g. \'{"type": "tap", "x": 540, "y": 1200}\'.')],
    env: Annotated[str, typer.Option("--env", help="Env spec, e.g. sim-phone:3.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Gate and report, but execute nothing.")] = False,
    interactive: Annotated[bool, typer.Option(
        "--interactive/--headless", help="Ask before sensitive actions (default: when stdin is a terminal).")] = None,
    config_file: Annotated[Path, typer.Option("--config", help="A config file; its [safety] and [loop] apply.")] = None,
    env_opt: Annotated[list[str], typer.Option("--env-opt", help="Env option KEY=VALUE (repeatable).")] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help=FRESH_HELP)] = False,
) -> None:
    """Execute one Action (frame px) on an env, through the safety gate."""
    import json

    from vlagent.agent.action_map import to_device
    from vlagent.agent.actions import parse_action
    from vlagent.agent.safety import SafetyGate, deny_all, make_gate
    from vlagent.agent.signals import interrupt_on_sigterm
    from vlagent.agent.step import gated_execute

    config = build_config(config_file, {})
    the_env = open_env_or_fail(env, {**config.env_options, **parse_pairs(env_opt, "--env-opt")}, fresh=fresh)
    try:
        say_state(the_env)
        frame = the_env.source.capture()
        action = parse_action(action_json, frame_size=frame.size)
        gate = SafetyGate(config.safety, deny_all, "dry-run") if dry_run else make_gate(config.safety, interactive)
        with interrupt_on_sigterm():
            outcome = gated_execute(action, frame, gate=gate, actuator=the_env.actuator, source=the_env.source,
                                    dry_run=dry_run, max_action_seconds=min(config.loop.max_action_seconds,
                                                                            config.loop.max_seconds))
        if outcome.result.executed:
            the_env.save()
    finally:
        the_env.close()
    result, frame = outcome.result, outcome.frame
    typer.echo(json.dumps({
        "ok": result.ok, "executed": result.executed, "action": outcome.action.model_dump(mode="json"),
        "action_device": to_device(outcome.action, frame.to_device).model_dump(mode="json"),
        "sent": result.sent, "message": result.message, "seconds": result.seconds,
        "safety": outcome.safety.to_dict(), "capped": outcome.capped, "ui_tree_error": outcome.ui_tree_error,
    }, ensure_ascii=False, default=str))
    raise typer.Exit(0 if result.ok else 1)
