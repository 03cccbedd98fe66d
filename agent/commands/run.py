"""`vlagent run`: one episode of a policy on an env, optionally recorded.

The step budget is min(--max-steps, the task's step budget), as `vlagent tasks` shows it.
SIGTERM, like Ctrl-C, ends the episode at once: the record is finished as "cancelled" with
every completed step kept. Exit status: 0 when the episode succeeded, 1 when it ended
without success, 2 for bad input or setup, 130 after Ctrl-C or SIGTERM.
"""

from pathlib import Path
from typing import Annotated

import typer

from vlagent.agent.commands.common import (
    FRESH_HELP,
    build_config,
    fail,
    open_env_or_fail,
    parse_pairs,
    say_state,
)


def _step_line(data) -> str:
    from vlagent.agent.actions import action_to_json

    action = action_to_json(data.decision.action) if data.decision is not None else "-"
    verdict = data.safety.verdict if data.safety is not None else "-"
    executed = data.result.executed if data.result is not None else False
    event = f" [{data.event}]" if data.event else ""
    return (f"step {data.step:>3}  {action}  safety={verdict}  executed={executed}"
            f"  {data.timings.get('total', 0.0) * 1000:.0f} ms{event}")


def run(
    env: Annotated[str, typer.Option("--env", help="Env spec, e.g. sim-phone:3.")] = None,
    task: Annotated[str, typer.Option(
        "--task", help="A sim task id (clock.alarm_create[:SEED]) or instruction text.")] = None,
    policy: Annotated[str, typer.Option("--policy", help="Policy name (see agent.registry.POLICIES).")] = None,
    record: Annotated[Path, typer.Option("--record", help="Record the episode into this directory.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Decide and record everything, execute nothing.")] = False,
    max_steps: Annotated[int, typer.Option("--max-steps", help="Step budget (the task's budget caps it).")] = None,
    max_seconds: Annotated[float, typer.Option("--max-seconds", help="Wall-time budget, seconds.")] = None,
    step_timeout: Annotated[float, typer.Option(
        "--step-timeout", help="Longest one policy call may take, seconds.")] = None,
    config_file: Annotated[Path, typer.Option("--config", help="A TOML or YAML AgentConfig file.")] = None,
    env_opt: Annotated[list[str], typer.Option("--env-opt", help="Env option KEY=VALUE (repeatable).")] = None,
    policy_opt: Annotated[list[str], typer.Option("--policy-opt", help="Policy option KEY=VALUE (repeatable).")] = None,
    model: Annotated[Path, typer.Option("--model", help="Model for model policies (same as --policy-opt model=DIR).")] = None,
    profile: Annotated[str, typer.Option(
        "--profile", help="The agent's prompt profile: vlagent, qwen2-vl, qwen2.5-vl, ui-tars, ui-tars-1.5, "
                          "qwen2.5-vl-computer, ui-tars-1.5-computer (default: from the model and env; "
                          "same as --policy-opt profile=NAME).")] = None,
    frame_format: Annotated[str, typer.Option("--frame-format", help="Recorded frames: png or webp.")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an episode already in --record.")] = False,
    fresh: Annotated[bool, typer.Option("--fresh", help=FRESH_HELP)] = False,
    interactive: Annotated[bool, typer.Option(
        "--interactive/--headless", help="Ask before sensitive actions (default: when stdin is a terminal).")] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Run one episode: observe, decide, gate, act, settle, record."""
    import json

    from rich.console import Console
    from rich.markup import escape

    from vlagent.agent.loop import run_episode
    from vlagent.agent.metadata import effective_loop, episode_meta
    from vlagent.agent.registry import PolicyContext, make_policy
    from vlagent.agent.signals import interrupt_on_sigterm

    overrides = {"env": env, "task": task, "policy": policy, "loop.max_steps": max_steps,
                 "loop.max_seconds": max_seconds, "loop.step_timeout_s": step_timeout, "record.dir": record,
                 "record.frame_format": frame_format, "loop.dry_run": True if dry_run else None,
                 "record.overwrite": True if overwrite else None}
    config = build_config(config_file, overrides)
    config = config.model_copy(update={
        "env_options": {**config.env_options, **parse_pairs(env_opt, "--env-opt")},
        "policy_options": {**config.policy_options, **parse_pairs(policy_opt, "--policy-opt"),
                           **({"model": str(model)} if model is not None else {}),
                           **({"profile": profile} if profile is not None else {})}})
    if not config.task:
        fail("no task: pass --task ID|TEXT or set task in the config")
    console = Console(stderr=True)
    the_env = open_env_or_fail(config.env, config.env_options, fresh=fresh)
    try:
        say_state(the_env, console)
        handle = the_env.setup_task(config.task)
        the_policy = make_policy(config.policy, PolicyContext(env=the_env, task=handle, options=config.policy_options))
        config = effective_loop(config, handle)
        recorder = _start_recorder(config, episode_meta(config, the_env, handle, the_policy))
        console.print(f"[bold]{escape(config.policy)}[/] on [bold]{escape(config.env)}[/]: "
                      f"{escape(handle.instruction)} (at most {config.loop.max_steps} steps)")
        try:
            with interrupt_on_sigterm():
                result = run_episode(the_env.source, the_policy, the_env.actuator, instruction=handle.instruction,
                                     config=config.loop, gate=_gate(config, interactive), recorder=recorder,
                                     success_check=handle.success_check,
                                     on_step=lambda data: console.print(_step_line(data), markup=False,
                                                                        highlight=False, soft_wrap=True))
        except KeyboardInterrupt:
            where = f"; the episode was recorded in {recorder.dir}" if recorder is not None else ""
            console.print(f"cancelled{escape(where)}")
            raise typer.Exit(130) from None
        finally:
            if not config.loop.dry_run:  # a dry run leaves no trace on the env, not even the task's set-up
                the_env.save()
    finally:
        the_env.close()
    if json_output:
        typer.echo(json.dumps({**result.to_dict(), "record_dir": str(result.record_dir) if result.record_dir else None}))
    else:
        style = "green" if result.success else "red"
        console.print(f"[{style}]{result.status}[/] success={result.success} steps={result.steps} "
                      f"{result.seconds:.2f} s: {escape(result.reason)}", highlight=False)
    raise typer.Exit(0 if result.success else 1)


def _gate(config, interactive: bool | None):
    from vlagent.agent.safety import SafetyGate, deny_all, make_gate

    if config.loop.dry_run:  # nothing runs, so nobody needs asking: sensitive actions are recorded as denied
        return SafetyGate(config.safety, deny_all, "dry-run")
    return make_gate(config.safety, interactive)


def _start_recorder(config, meta: dict):
    from vlagent.agent.recorder import EpisodeRecorder

    if config.record.dir is None:
        return None
    recorder = EpisodeRecorder(config.record.dir, frame_format=config.record.frame_format,
                               overwrite=config.record.overwrite)
    recorder.start(meta)
    return recorder
