"""The AndroidControl importer on the committed fixture, and replay straight from its JSON."""

import base64
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vlagent.agent.actions import KeyPress, OpenApp, Scroll, Tap, TypeText, Wait
from vlagent.agent.episode import load_episode
from vlagent.agent.errors import EpisodeFormatError
from vlagent.agent.importers.androidcontrol import convert_action, import_file
from vlagent.agent.replay import score_episode
from vlagent.policies.scripted import ScriptedPolicy

FIXTURE = Path(__file__).parent / "fixtures" / "androidcontrol" / "episode_1001.json"


def test_the_fixture_imports_into_a_replayable_episode(tmp_path):
    record = json.loads(FIXTURE.read_text())
    [path] = import_file(FIXTURE, tmp_path)
    episode = load_episode(path)
    assert episode.finished and episode.instruction == record["goal"]
    assert episode.meta["task"]["id"] == "androidcontrol:1001"
    assert len(episode.steps) == len(record["actions"]) == len(record["screenshots"]) - 1
    actions = [episode.action(i) for i in range(len(episode.steps))]
    assert actions[0] == OpenApp(app="Settings")
    assert isinstance(actions[1], Tap) and isinstance(actions[2], Scroll) and actions[2].direction == "down"
    assert actions[4] == KeyPress(key="back")
    original = np.asarray(Image.open(FIXTURE.parent / record["screenshots"][1]).convert("RGB"))
    frame = episode.frame(1)
    assert np.array_equal(frame.image, original)
    assert frame.ui_tree and any(node.text == "Wi-Fi" for node in frame.ui_tree)
    assert episode.steps[1]["extra"]["step_instruction"] == "Turn on Wi-Fi"
    assert (episode.path / episode.result["final_frame"]).is_file()
    # a tap elsewhere on the Wi-Fi row counts (target element); one on another row does not
    tap = actions[1]
    row = next(n for n in frame.ui_tree if n.clickable and n.contains(tap.x, tap.y))
    moved = [*actions]
    moved[1] = Tap(x=row.bounds[2] - 2, y=row.bounds[1] + 1)
    assert score_episode(episode, ScriptedPolicy(moved)).tally.step_accuracy == 1.0
    moved[1] = Tap(x=tap.x, y=row.bounds[3] + 5)
    assert score_episode(episode, ScriptedPolicy(moved)).tally.matches == len(actions) - 1


def test_cli_replays_the_json_directly(tmp_path):
    record = json.loads(FIXTURE.read_text())
    script = tmp_path / "script.jsonl"
    script.write_text("\n".join(json.dumps(a) for a in [
        {"type": "open_app", "app": "settings"}, {"type": "tap", **{k: v for k, v in json.loads(record["actions"][1]).items()
                                                                    if k in "xy"}},
        {"type": "scroll", "direction": "down"}, {"type": "tap", "x": 1, "y": 1}, {"type": "key_press", "key": "back"}]))
    done = subprocess.run([sys.executable, "-m", "vlagent.agent.cli", "replay", str(FIXTURE), "--policy", "scripted",
                           "--policy-opt", f"actions={script}", "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    aggregate = json.loads(done.stdout)["aggregate"]
    assert aggregate["steps"] == 5 and aggregate["matches"] == 4 and aggregate["type_matches"] == 5


def test_action_mapping_and_errors(tmp_path):
    assert convert_action('{"action_type":"click","x":5,"y":6}')[0] == Tap(x=5, y=6)
    assert convert_action({"action_type": "input_text", "text": "héllo"})[0] == TypeText(text="héllo")
    typed, extra = convert_action({"action_type": "type", "text": "a", "x": 1, "y": 2})
    assert typed == TypeText(text="a", submit=True) and extra["androidcontrol_action"]["x"] == 1
    assert convert_action({"action_type": "navigate_home"})[0] == KeyPress(key="home")
    assert convert_action({"action_type": "wait"})[0] == Wait(seconds=1.0)
    with pytest.raises(EpisodeFormatError, match="unknown"):
        convert_action({"action_type": "teleport"})
    with pytest.raises(EpisodeFormatError, match="lacks"):
        convert_action({"action_type": "click", "x": 1})
    png = (FIXTURE.parent / "screens" / "1001_1.png").read_bytes()
    uri = "data:image/png;base64," + base64.b64encode(png).decode()
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"episode_id": 7, "goal": "g", "screenshots": [uri],
                               "actions": ['{"action_type":"wait"}', '{"action_type":"wait"}']}) + "\n")
    with pytest.raises(EpisodeFormatError, match="screenshots"):
        import_file(bad, tmp_path / "out")
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps({"episode_id": 8, "goal": "g", "screenshots": [uri, uri],
                                "actions": ['{"action_type":"wait"}']}) + "\n")
    [path] = import_file(good, tmp_path / "out")
    assert load_episode(path).frame(0).size == (180, 400)
