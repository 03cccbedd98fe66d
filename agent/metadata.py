"""The episode metadata every recorded run starts with, built in one place.

`vlagent run` and `vlagent demo` both call `episode_meta`, so their episode.json files carry
the same keys (docs/EPISODE_FORMAT.md): the task as the env set it up, the env spec and
its device description, the policy's name and options, the model's manifest hash when the
policy has a model, the full effective `AgentConfig` (budgets after the task's step budget
was applied), and where the env keeps state between commands, if anywhere.
"""

from typing import Any

from vlagent.agent.config import AgentConfig


def episode_meta(config: AgentConfig, env: Any, task: Any, policy: Any) -> dict[str, Any]:
    """Metadata for an episode of `policy` on `env` doing `task` (an `envs.TaskHandle`) under
    `config` (the effective one: what the loop really runs with)."""
    return {
        "task": task.describe(),
        "env": config.env,
        "device": env.device,
        "state_file": _state_file(env),
        "policy": {"name": config.policy, "options": config.policy_options},
        "model": {"manifest_sha256": getattr(policy, "manifest_sha256", None),
                  "profile": getattr(getattr(policy, "profile", None), "name", None)},
        "config": config.model_dump(mode="json"),
    }


def _state_file(env: Any) -> str | None:
    path = getattr(env, "state_file", None)
    return None if path is None else str(path)


def effective_loop(config: AgentConfig, task: Any) -> AgentConfig:
    """`config` with the task's step budget applied: the episode runs at most
    min(loop.max_steps, task.step_budget) steps, as `vlagent tasks` shows and the demo does."""
    budget = getattr(task, "step_budget", None)
    if not budget or budget >= config.loop.max_steps:
        return config
    return config.model_copy(update={"loop": config.loop.model_copy(update={"max_steps": int(budget)})})
