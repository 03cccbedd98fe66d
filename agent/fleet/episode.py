"""One fleet episode on one device: open the env, set up the task, run the loop, record it.

The same function runs inside a Ray actor (`agent.fleet.worker`) and, for the benchmark's
baseline, in one plain process. It is the `vlagent run` path with the fleet's choices fixed:
the safety gate is headless (nobody is at a fleet's terminal: sensitive actions are denied, or
allowed by the config's safety section), the episode is always recorded, and a simulated phone
starts fresh from a scratch state file, so a fleet never reads or writes the user's saved
phones. Errors propagate: the scheduler records them on the episode's row.
"""

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from vlagent.agent.config import AgentConfig
from vlagent.agent.registry import split_spec

# Model policies run in-process; with several devices per machine, each engine's own default
# (one thread per core) would oversubscribe the cores, so a fleet gives each one thread unless
# the user asks otherwise (--policy-opt threads=N).
IN_PROCESS_MODEL_POLICIES = ("agent", "grounding")


def fleet_policy_options(policy: str, options: dict[str, Any]) -> dict[str, Any]:
    if policy in IN_PROCESS_MODEL_POLICIES and "threads" not in options:
        return {**options, "threads": 1}
    return dict(options)


def _env_options(kind: str, options: dict[str, Any], scratch: Path) -> dict[str, Any]:
    if kind == "sim-phone":
        return {**options, "state_file": str(scratch / "sim-phone.json"), "fresh": True}
    return dict(options)


def run_device_episode(device: str, task: str, config: dict[str, Any], episode_dir: str | Path) -> dict[str, Any]:
    """Run `task` on the device with env spec `device` under `config` (an AgentConfig as a
    dict), recording into `episode_dir` (which must not hold an episode yet). Returns the
    outcome: status, success, steps, seconds (wall, env set-up included), reason and pid."""
    from vlagent.agent.loop import run_episode
    from vlagent.agent.metadata import effective_loop, episode_meta
    from vlagent.agent.recorder import EpisodeRecorder
    from vlagent.agent.registry import PolicyContext, make_policy, open_env
    from vlagent.agent.safety import make_gate

    started = time.perf_counter()
    agent_config = AgentConfig.model_validate({**config, "env": device, "task": task})
    kind, _ = split_spec(device)
    with tempfile.TemporaryDirectory(prefix="vlagent-fleet-") as scratch:
        env = open_env(device, _env_options(kind, agent_config.env_options, Path(scratch)))
        try:
            handle = env.setup_task(task)
            policy = make_policy(agent_config.policy, PolicyContext(env=env, task=handle,
                                                                   options=agent_config.policy_options))
            agent_config = effective_loop(agent_config, handle)
            recorder = EpisodeRecorder(episode_dir, frame_format=agent_config.record.frame_format)
            recorder.start(episode_meta(agent_config, env, handle, policy))
            result = run_episode(env.source, policy, env.actuator, instruction=handle.instruction,
                                 config=agent_config.loop, gate=make_gate(agent_config.safety, interactive=False),
                                 recorder=recorder, success_check=handle.success_check)
        finally:
            env.close()
    return {"status": result.status, "success": bool(result.success), "steps": result.steps,
            "seconds": round(time.perf_counter() - started, 3), "reason": result.reason,
            "instruction": handle.instruction, "pid": os.getpid()}
