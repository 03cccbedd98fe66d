"""`vlagent observe` and `vlagent act` on sim-phone:SEED, whose state persists in a state file."""

import json

import pytest
from PIL import Image
from typer.testing import CliRunner

from vlagent.agent.cli import app

SIZE = ["--env-opt", "width=360", "--env-opt", "height=800"]


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("VLAGENT_STATE_DIR", str(tmp_path / "state"))
    runner = CliRunner()

    def invoke(*args):
        result = runner.invoke(app, list(args))
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    return invoke


def _node(tree, text):
    return next(n for n in tree if n["text"] == text)


def test_observe_prints_metadata_the_ui_tree_in_frame_px_and_writes_the_frame(cli, tmp_path):
    out = cli("observe", "--env", "sim-phone:5", "-o", str(tmp_path / "f.png"), "--ui-tree", *SIZE)
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["frame"]["width"] == 360 and data["frame"]["height"] == 800
    assert data["frame"]["to_device"]["kind"] == "scale" and data["frame"]["source"] == "sim-phone"
    assert Image.open(tmp_path / "f.png").size == (360, 800)
    settings = _node(data["ui_tree"], "Settings")
    assert settings["bounds"] == settings["bounds_device"]  # full-size capture: frame px == device px
    half = json.loads(cli("observe", "--env", "sim-phone:5", "--ui-tree", *SIZE, "--env-opt", "frame_width=180").stdout)
    assert half["frame"]["width"] == 180
    small = _node(half["ui_tree"], "Settings")
    assert small["bounds"] == pytest.approx([v / 2 for v in small["bounds_device"]], abs=0.01)


def test_act_executes_through_the_gate_and_the_state_persists(cli, tmp_path):
    tree = json.loads(cli("observe", "--env", "sim-phone:5", "--ui-tree", *SIZE).stdout)["ui_tree"]
    x1, y1, x2, y2 = _node(tree, "Shop")["bounds"]
    tap = json.dumps({"type": "tap", "x": (x1 + x2) / 2, "y": (y1 + y2) / 2})
    out = cli("act", "--env", "sim-phone:5", tap, "--headless", *SIZE)
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    assert result["ok"] and result["executed"] and result["safety"]["verdict"] == "allowed"
    assert result["action_device"]["x"] == pytest.approx((x1 + x2) / 2)
    assert (tmp_path / "state" / "sim-phone-5.json").is_file()
    after = json.loads(cli("observe", "--env", "sim-phone:5", "--ui-tree").stdout)["ui_tree"]
    assert any(n["package"] == "com.vlagent.shop" for n in after)  # the next command sees the Shop
    other_seed = json.loads(cli("observe", "--env", "sim-phone:6", "--ui-tree", *SIZE).stdout)["ui_tree"]
    assert not any(n["package"] == "com.vlagent.shop" for n in other_seed)


def test_act_dry_run_and_blocked_actions_change_nothing(cli, tmp_path):
    cli("act", "--env", "sim-phone:5", '{"type": "open_app", "app": "Settings"}', "--headless", *SIZE)
    state_file = tmp_path / "state" / "sim-phone-5.json"
    before = state_file.read_bytes()
    dry = cli("act", "--env", "sim-phone:5", '{"type": "key_press", "key": "home"}', "--dry-run")
    assert dry.exit_code == 0 and json.loads(dry.stdout)["executed"] is False
    assert state_file.read_bytes() == before
    secret = cli("act", "--env", "sim-phone:5", '{"type": "type_text", "text": "4111 1111 1111 1111"}', "--headless")
    data = json.loads(secret.stdout)
    assert secret.exit_code == 1 and data["safety"]["verdict"] == "denied" and not data["executed"]
    assert state_file.read_bytes() == before


def test_bad_input_is_a_clear_usage_error(cli):
    bad = cli("act", "--env", "sim-phone:5", '{"type": "tap", "x": 99999, "y": 1}', *SIZE)
    assert bad.exit_code == 2 and "outside" in bad.output
    assert cli("observe", "--env", "nowhere:1").exit_code == 2
    assert cli("observe", "--env", "sim-phone:abc").exit_code == 2
    unknown = cli("observe", "--env", "sim-phone:1", "--env-opt", "colour=blue")
    assert unknown.exit_code == 2 and "colour" in unknown.output


def test_run_dry_run_leaves_the_env_untouched(cli, tmp_path):
    cli("act", "--env", "sim-phone:5", '{"type": "open_app", "app": "Clock"}', "--headless", *SIZE)
    state_file = tmp_path / "state" / "sim-phone-5.json"
    before = state_file.read_bytes()
    out = cli("run", "--env", "sim-phone:5", "--task", "settings.wifi_off", "--policy", "oracle", "--dry-run",
              "--record", str(tmp_path / "ep"), "--headless", "--json")
    assert out.exit_code == 1, out.output
    assert state_file.read_bytes() == before
    from vlagent.agent.episode import load_episode

    steps = load_episode(tmp_path / "ep").steps
    assert steps and all(s["result"] is None or not s["result"]["executed"] for s in steps)
