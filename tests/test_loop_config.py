"""AgentConfig: TOML and YAML files, strict keys, and CLI flags over the file."""

import json

import pytest
from typer.testing import CliRunner

from vlagent.agent.cli import app
from vlagent.agent.config import AgentConfig, apply_overrides, load_config
from vlagent.agent.episode import load_episode
from vlagent.agent.errors import ConfigError

TOML = """
env = "sim-phone:2"
task = "settings.wifi_off"
policy = "oracle"
env_options = { width = 360, height = 800 }

[loop]
max_steps = 7
max_seconds = 30

[loop.settle]
interval_s = 0.0
stable_frames = 1

[safety]
sensitive_labels = ["wipe"]
app_allowlist = ["Settings"]

[record]
frame_format = "webp"
"""

YAML = """
env: sim-phone:2
loop:
  max_steps: 7
  settle: {interval_s: 0.0, stable_frames: 1}
safety:
  sensitive_labels: [wipe]
"""


def test_toml_and_yaml_load_into_the_same_model(tmp_path):
    (tmp_path / "a.toml").write_text(TOML)
    (tmp_path / "a.yaml").write_text(YAML)
    from_toml, from_yaml = load_config(tmp_path / "a.toml"), load_config(tmp_path / "a.yaml")
    for config in (from_toml, from_yaml):
        assert config.env == "sim-phone:2" and config.loop.max_steps == 7
        assert config.loop.settle.stable_frames == 1 and config.safety.sensitive_labels == ["wipe"]
    assert from_toml.record.frame_format == "webp" and from_toml.safety.app_allowlist == ["Settings"]
    assert from_yaml.loop.max_seconds == AgentConfig().loop.max_seconds


def test_bad_files_and_keys_name_the_problem(tmp_path):
    (tmp_path / "typo.toml").write_text("[loop]\nmax_step = 3\n")
    with pytest.raises(ConfigError, match="max_step"):
        load_config(tmp_path / "typo.toml")
    (tmp_path / "neg.yaml").write_text("loop: {max_steps: -1}\n")
    with pytest.raises(ConfigError, match="loop.max_steps"):
        load_config(tmp_path / "neg.yaml")
    (tmp_path / "broken.toml").write_text("[loop\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(tmp_path / "broken.toml")
    with pytest.raises(ConfigError, match="unknown config format"):
        load_config(tmp_path / "x.ini")
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")


def test_overrides_win_and_are_validated():
    config = apply_overrides(AgentConfig(), {"loop.max_steps": 3, "loop.settle.timeout_s": 0.5, "task": None})
    assert config.loop.max_steps == 3 and config.loop.settle.timeout_s == 0.5 and config.task is None
    with pytest.raises(ConfigError, match="unknown key"):
        apply_overrides(AgentConfig(), {"loop.nope": 1})
    with pytest.raises(ConfigError, match="max_steps"):
        apply_overrides(AgentConfig(), {"loop.max_steps": 0})


def test_cli_flags_override_the_config_file(tmp_path, monkeypatch):
    monkeypatch.setenv("VLAGENT_STATE_DIR", str(tmp_path / "state"))
    (tmp_path / "run.toml").write_text(TOML)
    result = CliRunner().invoke(app, ["run", "--config", str(tmp_path / "run.toml"), "--max-steps", "1",
                                      "--record", str(tmp_path / "ep"), "--headless", "--json"])
    assert result.exit_code == 1, result.output  # one step cannot finish the task
    data = json.loads(result.stdout)
    assert data["status"] == "max_steps" and data["steps"] == 1
    episode = load_episode(tmp_path / "ep")
    assert episode.meta["config"]["loop"]["max_steps"] == 1  # the flag
    assert episode.meta["config"]["safety"]["sensitive_labels"] == ["wipe"]  # the file
    assert episode.steps[0]["frame"].endswith(".webp") and episode.meta["device"]["size"] == [360, 800]
