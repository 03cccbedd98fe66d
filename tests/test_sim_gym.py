"""The Gymnasium environment vlagent/Phone-v0: conformance, the step contract, and an oracle
episode driven through the JSON action path with the UI tree taken from the observation."""

import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from vlagent.agent.actions import Finish, Wait, action_to_json
from vlagent.agent.config import SafetyConfig
from vlagent.agent.gym_env import PhoneEnv, UnicodeText
from vlagent.agent.interfaces import Observation
from vlagent.agent.registry import register_gym_envs
from vlagent.perception.frame import Frame
from vlagent.perception.uitree import parse_uiautomator_xml
from vlagent.policies.oracle import OraclePolicy


def test_importing_sim_registers_nothing_and_register_envs_is_idempotent():
    code = ("import gymnasium, vlagent.sim, vlagent.agent.gym_env, vlagent.agent.registry as r; "
            "assert 'vlagent/Phone-v0' not in gymnasium.registry; "
            "r.register_gym_envs(); r.register_gym_envs(); assert 'vlagent/Phone-v0' in gymnasium.registry")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("include_ui_tree", [False, True])
def test_check_env_passes_in_full_without_warnings(include_ui_tree):
    register_gym_envs()
    env = gym.make("vlagent/Phone-v0", task="settings.wifi_on", include_ui_tree=include_ui_tree, width=360, height=800)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    assert [str(w.message) for w in caught] == []
    env.close()


def test_text_spaces_hold_any_unicode_within_length():
    space = UnicodeText(10, min_length=1)
    assert "Zoë 你好 🚗" in space and "" not in space and "x" * 11 not in space and 5 not in space
    space.seed(0)
    assert all(isinstance(s, str) and 1 <= len(s) <= 10 for s in (space.sample() for _ in range(20)))


def test_reset_and_step_contract():
    env = PhoneEnv(task="settings.wifi_on", width=360, height=800)
    with pytest.raises(gym.error.ResetNeeded):
        env.step('{"type":"wait"}')
    obs, info = env.reset(seed=3)
    assert obs.shape == (800, 360, 3) and obs.dtype == np.uint8 and obs in env.observation_space
    assert info == {"task_id": info["task_id"], "template_id": "settings.wifi_on", "instruction": "Turn on Wi-Fi",
                    "step": 0, "success": False, "action_error": None, "safety": None}
    obs, reward, terminated, truncated, info = env.step("not json")
    assert (reward, terminated, truncated, info["step"]) == (0.0, False, False, 1)
    assert "not valid JSON" in info["action_error"]
    _, _, _, _, info = env.step({"type": "tap", "x": 5000, "y": 1})
    assert "outside" in info["action_error"]
    _, _, _, _, info = env.step({"type": "twist", "linear": 0, "angular": 0})
    assert "not a phone action" in info["action_error"]
    _, reward, terminated, _, info = env.step(Finish(status="failure"))
    assert (reward, terminated, info["action_error"]) == (0.0, True, None)


def test_step_budget_truncates():
    env = PhoneEnv(task="camera.take_photo", width=360, height=800)
    env.reset(seed=0)
    budget = env.task.step_budget
    for step in range(1, budget + 1):
        _, reward, terminated, truncated, info = env.step(action_to_json(Wait(seconds=0)))
        assert not terminated and truncated == (step == budget) and info["step"] == step


def test_constructor_seed_seeds_the_first_reset():
    first = PhoneEnv(seed=8, width=360, height=800).reset()[1]
    again = PhoneEnv(width=360, height=800).reset(seed=8)[1]
    assert first == again


def test_reset_draws_tasks_and_honours_options():
    env = PhoneEnv(width=360, height=800)
    ids = {env.reset(seed=s)[1]["template_id"] for s in range(12)}
    assert len(ids) > 3
    _, info = env.reset(options={"task": "notes.create", "task_seed": 5})
    assert info["task_id"] == "notes.create:5"


def _oracle_episode(env: PhoneEnv, seed: int = 1):
    """Drive the oracle through the env's JSON action path; returns (total reward, last info, ended)."""
    obs, info = env.reset(seed=seed)
    policy = OraclePolicy(env.task)
    total, history = 0.0, []
    for step in range(env.task.step_budget):
        frame = Frame(image=obs["image"], captured_at=0.0, ui_tree=parse_uiautomator_xml(obs["ui_tree"]))
        decision = policy.act(Observation(frame=frame, instruction=info["instruction"], step=step), history)
        history.append(decision)
        obs, reward, terminated, truncated, info = env.step(action_to_json(decision.action))
        total += reward
        if info["action_error"] is not None or terminated or truncated:
            return total, info, terminated
    return total, info, False


@pytest.mark.parametrize("template_id", ["messages.send_unicode", "multi.calculate_to_note", "clock.alarm_delete"])
def test_oracle_earns_reward_one_through_json_actions(template_id):
    # Deleting an alarm taps "Delete", a default sensitive label: this gate is told it is fine.
    labels = [label for label in SafetyConfig().sensitive_labels if label != "delete"]
    env = PhoneEnv(task=template_id, include_ui_tree=True, width=540, height=1200,
                   safety=SafetyConfig(sensitive_labels=labels))
    total, info, terminated = _oracle_episode(env)
    assert info["action_error"] is None and info["safety"]["verdict"] == "allowed"
    assert terminated and info["success"] and total == 1.0


def test_the_env_steps_through_the_safety_gate():
    """No path past the gate: with the default rules the headless gate denies the sensitive
    tap, the phone is unchanged, and the task does not succeed."""
    env = PhoneEnv(task="clock.alarm_delete", include_ui_tree=True, width=540, height=1200)
    total, info, _ = _oracle_episode(env)
    assert info["action_error"] == "blocked by the safety gate"
    assert info["safety"]["verdict"] == "denied" and any("delete" in r for r in info["safety"]["reasons"])
    assert total == 0.0 and not info["success"]
