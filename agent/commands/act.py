"""`vlagent act --env ENV ACTION_JSON`: execute one Action through the safety gate.

The action is in frame px of a frame captured just before (full resolution for the sim,
so frame px == device px there). Prints the ActionResult, the safety decision and the
action in device px as JSON; exit status 0 when the action succeeded (or, with --dry-run,
would have been allowed), 1 when it was denied or failed, 2 for bad input. The env's state is
saved afterwards (the sim's state file).
"""

from pathlib import Path
from typing import Annotated

import typer

from vlagent.agent.commands.common import build_config, fail, open_env_or_fail, parse_pairs


def act(
    action_json: Annotated[str, typer.Argument(help='An Action as JSON, e.g. \'{"type": "tap", "x": 540, "y": 1200}\'.')],
    env: Annotated[str, typer.Option("--env", help="Env spec, e.g. sim-phone:3.")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Gate and report, but execute nothing.")] = False,
    interactive: Annotated[bool, typer.Option(
        "--interactive/--headless", help="Ask before sensitive actions (default: when stdin is a terminal).")] = None,
    config_file: Annotated[Path, typer.Option("--config", help="A config file; its [safety] section applies.")] = None,
    env_opt: Annotated[list[str], typer.Option("--env-opt", help="Env option KEY=VALUE (repeatable).")] = None,
) -> None:
    """Execute one Action (frame px) on an env, through the safety gate."""
    import json

    from vlagent.agent.action_map import to_device
    from vlagent.agent.actions import ActionParseError, parse_action
    from vlagent.agent.interfaces import ActionResult
    from vlagent.agent.safety import SafetyGate, deny_all, make_gate

    config = build_config(config_file, {})
    the_env = open_env_or_fail(env, {**config.env_options, **parse_pairs(env_opt, "--env-opt")})
    try:
        frame = the_env.source.capture()
        try:
            action = parse_action(action_json, frame_size=frame.size)
        except ActionParseError as error:
            fail(str(error))
        gate = SafetyGate(config.safety, deny_all, "dry-run") if dry_run else make_gate(config.safety, interactive)
        decision = gate.review(action, frame)
        if not decision.allowed:
            result = ActionResult(False, action, message="blocked by the safety gate", executed=False)
        elif dry_run:
            result = ActionResult(True, action, message="dry run: not executed", executed=False)
        else:
            result = the_env.actuator.execute(action, frame)
            the_env.save()
    finally:
        the_env.close()
    typer.echo(json.dumps({
        "ok": result.ok, "executed": result.executed, "action": action.model_dump(mode="json"),
        "action_device": to_device(action, frame.to_device).model_dump(mode="json"),
        "sent": result.sent, "message": result.message, "seconds": result.seconds,
        "safety": decision.to_dict(),
    }, ensure_ascii=False, default=str))
    raise typer.Exit(0 if result.ok else 1)
