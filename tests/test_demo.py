"""`vlagent demo`: the fixed task set, and an end-to-end run with the shipped model and torch blocked."""

import json

import pytest

from tests.notorch import run_without_torch
from vlagent.agent.config import SafetyConfig
from vlagent.agent.demo import DEMO_LOOP, DEMO_TASKS, DemoError, check_tasks, p50_ms, step_stages
from vlagent.agent.loop import run_episode
from vlagent.agent.registry import PolicyContext, make_policy
from vlagent.agent.safety import make_gate


def test_demo_tasks_span_apps_and_the_oracle_solves_each_under_the_demo_gate(tmp_path):
    from vlagent.agent.envs import SimPhoneEnv

    assert len(DEMO_TASKS) >= 10 and len(set(DEMO_TASKS)) == len(DEMO_TASKS)
    assert len({ref.split(".")[0] for ref in DEMO_TASKS}) >= 5
    for ref in check_tasks(DEMO_TASKS):
        env = SimPhoneEnv(0, state_file=tmp_path / "s.json", fresh=True)
        handle = env.setup_task(ref)
        policy = make_policy("oracle", PolicyContext(env=env, task=handle))
        loop = DEMO_LOOP.model_copy(update={"settle": DEMO_LOOP.settle.model_copy(update={"enabled": False})})
        result = run_episode(env.source, policy, env.actuator, instruction=handle.instruction, config=loop,
                             gate=make_gate(SafetyConfig(), interactive=False), success_check=handle.success_check)
        env.close()
        assert result.success and result.steps <= 6, (ref, result)


def test_unknown_demo_task_is_a_clear_error():
    with pytest.raises(DemoError, match="no.such"):
        check_tasks(["no.such:1"])


def test_step_stages_and_p50():
    rows = [step_stages({"preprocess": 0.01, "model": 0.05, "safety": 0.001, "actuate": 0.004, "settle": 0.1}, 0.02),
            step_stages({"preprocess": 0.03, "model": 0.07, "safety": 0.0, "actuate": 0.002, "settle": 0.2}, 0.01)]
    assert rows[0]["step"] == pytest.approx(0.085) and rows[0]["act"] == pytest.approx(0.005)
    medians = p50_ms(rows)
    assert medians["model"] == pytest.approx(60.0) and medians["settle"] == pytest.approx(150.0)
    assert p50_ms([]) == {}


def test_demo_runs_end_to_end_without_torch(tmp_path):
    out = tmp_path / "demo"
    result = run_without_torch(
        f"""
        import sys
        from typer.testing import CliRunner
        from vlagent.agent.cli import app
        run = CliRunner().invoke(app, ["demo", "--out", "{out}", "--tasks", "settings.wifi_on:1,system.open_app:1"])
        assert run.exit_code == 0, run.output
        print(run.stdout)
        assert "torch" not in sys.modules and "transformers" not in sys.modules
        """,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "settings.wifi_on:1" in result.stdout and "system.open_app:1" in result.stdout
    assert f"report: {out / 'index.html'}" in result.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert [t["task"] for t in summary["tasks"]] == ["settings.wifi_on:1", "system.open_app:1"]
    assert len(summary["manifest_sha256"]) == 64
    for task in summary["tasks"]:
        episode = json.loads((out / task["episode_dir"].split(str(out) + "/")[1] / "episode.json").read_text())
        assert episode["result"]["status"] == task["status"] and episode["result"]["steps"] == task["steps"] >= 1
        assert episode["model"]["manifest_sha256"] == summary["manifest_sha256"]
        assert set(task["p50_ms"]) == {"capture", "preprocess", "model", "act", "settle", "step"}
        assert task["p50_ms"]["model"] > 0
        page = (out / task["report"].split(str(out) + "/")[1]).read_text()
        assert task["task"].split(":")[0] in page
    index = (out / "index.html").read_text()
    assert "episodes/00-settings.wifi_on-1/report.html" in index


def test_all_covers_every_template_on_unseen_seeds_and_the_oracle_solves_each(tmp_path):
    """`vlagent demo --all`: one task per template (two with --seeds 2), at seeds outside every
    training and evaluation range, each solvable within the demo's step budget."""
    from vlagent.agent.demo import ALL_TASKS_SEED0, all_template_tasks
    from vlagent.agent.envs import SimPhoneEnv
    from vlagent.perception.train.recipe import EVAL_SEED0, EVAL_TASK_SEED0
    from vlagent.sim.tasks import TASKS

    two = all_template_tasks(2)
    assert len(two) == 2 * len(TASKS) == 66 and len(set(two)) == 66
    assert {ref.rsplit(":", 1)[0] for ref in two} == set(TASKS)
    seeds = {int(ref.rsplit(":", 1)[1]) for ref in two}
    assert min(seeds) > max(EVAL_SEED0, EVAL_TASK_SEED0, ALL_TASKS_SEED0 - 1) and not seeds & set(range(1000, 1100))
    with pytest.raises(DemoError, match="at least 1"):
        all_template_tasks(0)
    from vlagent.agent.demo import ALL_MAX_STEPS, simulator_approves
    from vlagent.agent.safety import SafetyGate

    approved = []
    for ref in check_tasks(all_template_tasks(1)):
        env = SimPhoneEnv(0, state_file=tmp_path / "s.json", fresh=True)
        handle = env.setup_task(ref)
        policy = make_policy("oracle", PolicyContext(env=env, task=handle))
        loop = DEMO_LOOP.model_copy(update={"max_steps": ALL_MAX_STEPS,
                                            "settle": DEMO_LOOP.settle.model_copy(update={"enabled": False})})
        gate = SafetyGate(SafetyConfig(), lambda a, c, ref=ref: approved.append(ref) or simulator_approves(a, c), "simulator")
        result = run_episode(env.source, policy, env.actuator, instruction=handle.instruction, config=loop,
                             gate=gate, success_check=handle.success_check)
        env.close()
        assert result.success, (ref, result)
    # the gate still reviews: exactly the tasks whose answer is sensitive were asked about
    assert set(approved) == {f"{t}:{ALL_TASKS_SEED0 + 1}" for t in
                             ("clock.alarm_delete", "contacts.delete", "notes.delete", "shop.buy")}


def test_all_and_tasks_together_are_refused():
    import subprocess
    import sys

    cli = subprocess.run([sys.executable, "-m", "vlagent.agent.cli", "demo", "--all", "--tasks", "notes.create:1"],
                         capture_output=True, text=True, timeout=120)
    assert cli.returncode == 2 and "--all and --tasks" in cli.stderr
    cli = subprocess.run([sys.executable, "-m", "vlagent.agent.cli", "demo", "--seeds", "2"],
                         capture_output=True, text=True, timeout=120)
    assert cli.returncode == 2 and "--seeds goes with --all" in cli.stderr
