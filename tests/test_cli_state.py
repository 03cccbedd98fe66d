"""State you can see: observe, act and run name the sim phone's state file and take --fresh;
`run` honours the task's step budget, and the episode metadata is the demo's."""

import json

from typer.testing import CliRunner

from vlagent.agent.cli import app
from vlagent.sim.tasks import make_task

runner = CliRunner()


def _invoke(*args):
    return runner.invoke(app, list(args))


def test_observe_act_and_run_name_the_state_file_and_fresh_starts_over(tmp_path, monkeypatch):
    monkeypatch.setenv("VLAGENT_STATE_DIR", str(tmp_path / "state"))
    state = tmp_path / "state" / "sim-phone-4.json"
    env = ["--env", "sim-phone:4", "--env-opt", "width=360", "--env-opt", "height=800"]
    opened = _invoke("act", *env, "--headless", '{"type": "open_app", "app": "Settings"}')
    assert opened.exit_code == 0, opened.output
    assert f"state: {state}" in opened.stderr and state.is_file()
    kept = _invoke("observe", *env)
    assert kept.exit_code == 0 and f"state: {state}" in kept.stderr
    assert json.loads(kept.stdout)["state_file"] == str(state)
    kept_tree = json.loads(_invoke("observe", *env, "--ui-tree").stdout)["ui_tree"]
    fresh_tree = json.loads(_invoke("observe", *env, "--ui-tree", "--fresh").stdout)["ui_tree"]
    packages = {node["package"] for node in kept_tree}, {node["package"] for node in fresh_tree}
    assert "com.android.settings" in packages[0] and "com.android.settings" not in packages[1], packages
    ran = _invoke("run", *env, "--fresh", "--task", "settings.wifi_on", "--policy", "oracle", "--headless")
    assert ran.exit_code == 0 and "fresh phone" in ran.stderr and str(state) in ran.stderr, ran.output


def test_run_honours_the_tasks_step_budget_and_records_demo_shaped_metadata(tmp_path):
    budget = make_task("settings.wifi_on", 0).step_budget
    actions = json.dumps([{"type": "wait", "seconds": round(0.001 * i, 3)} for i in range(1, budget + 10)])
    done = _invoke("run", "--env", "sim-phone:0", "--env-opt", f"state_file={tmp_path / 's.json'}",
                   "--env-opt", "width=360", "--env-opt", "height=800", "--task", "settings.wifi_on",
                   "--policy", "scripted", "--policy-opt", f"actions={actions}", "--max-steps", "100",
                   "--record", str(tmp_path / "ep"), "--headless", "--json")
    assert done.exit_code == 1, done.output
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["status"] == "max_steps" and result["steps"] == budget
    meta = json.loads((tmp_path / "ep" / "episode.json").read_text())
    assert meta["config"]["loop"]["max_steps"] == budget
    assert set(meta) >= {"task", "env", "device", "policy", "model", "config", "state_file"}


def test_demo_episodes_carry_the_same_metadata_keys(tmp_path):
    from vlagent.agent.demo import run_task
    from vlagent.perception.engine import load
    from vlagent.policies.model_options import default_model_dir

    engine = load(default_model_dir(), backend="onnx", threads=1)
    run_task(engine, "settings.wifi_on:1001", episode_dir=tmp_path / "demo-ep")
    demo_meta = json.loads((tmp_path / "demo-ep" / "episode.json").read_text())
    assert {"task", "env", "device", "policy", "model", "config", "state_file"} <= set(demo_meta)
    assert demo_meta["config"]["policy"] == "agent" and demo_meta["config"]["safety"]["enabled"] is True
