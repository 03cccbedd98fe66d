"""Every released-family profile end to end: `vlagent serve` (a real server process) serves a
tiny model trained to answer in that family's format, and `vlagent run --policy remote:URL#NAME`
drives the sim phone with it: the profile is picked from the served name alone, the prompt is
the family's, the answer is parsed in its coordinate space, and the taps land where the task
needs them (the task succeeds).

The model (tests/fixtures/profile_model, ~2.5 MB int8) is the shipped demo model fine-tuned by
`python -m vlagent.perception.train.profile_fixture` on these tasks, in all four formats; it is
not trained here. It has memorised these tasks on their own phones (the phone seed is the task
seed, as in its training data): it shows the path works, not that tiny models learn these
formats well.
"""

import importlib.util
import json
import subprocess
from pathlib import Path

import pytest

from tests.serve_process import CLI, ROOT, start_server, stop_server

if importlib.util.find_spec("fastapi") is None or importlib.util.find_spec("openai") is None:
    pytest.skip("needs the serve extra (fastapi, uvicorn, openai)", allow_module_level=True)

PACKAGE = Path(__file__).parent / "fixtures" / "profile_model"
BUDGET = str(28 * 28 * 128)  # the fixture's image budget (1080x2400 -> 196x448)
FAMILIES = [
    # (served model name, the profile it must pick, what its answers look like)
    ("Qwen/Qwen2-VL-7B-Instruct", "qwen2-vl", "✿FUNCTION✿: mobile_use\n✿ARGS✿: {"),
    ("Qwen2.5-VL-7B-Instruct", "qwen2.5-vl", '<tool_call>\n{"name": "mobile_use", "arguments": {'),
    ("bytedance-research/UI-TARS-7B-SFT", "ui-tars", "Thought: "),
    ("ByteDance-Seed/UI-TARS-1.5-7B", "ui-tars-1.5", "Thought: "),
]
TASKS = [("settings.wifi_on:1", ["tap", "tap", "finish"]),
         ("messages.send:2", ["tap", "tap", "tap", "type_text", "tap", "finish"])]


@pytest.fixture(scope="module", params=FAMILIES, ids=[f[1] for f in FAMILIES])
def served(request):
    name, profile, prefix = request.param
    process, url = start_server(str(PACKAGE), "--served-model-name", name)
    yield url, name, profile, prefix
    stop_server(process)


@pytest.mark.parametrize("task,types", TASKS, ids=[t[0] for t in TASKS])
def test_a_sim_task_through_serve_in_the_family_format(served, task, types, tmp_path):
    url, name, profile, prefix = served
    out = tmp_path / "episode"
    done = subprocess.run(
        [*CLI, "run", "--env", f"sim-phone:{task.split(':')[1]}", "--task", task, "--policy", f"remote:{url}#{name}",
         "--policy-opt", f"max_pixels={BUDGET}", "--record", str(out), "--headless", "--json",
         "--env-opt", f"state_file={tmp_path / 'state.json'}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    steps = [json.loads(line) for line in (out / "steps.jsonl").read_text().splitlines()]
    assert done.returncode == 0, (done.stderr[-2000:], [s.get("raw_text") for s in steps])
    assert json.loads(done.stdout.strip().splitlines()[-1])["success"] is True
    meta = json.loads((out / "episode.json").read_text())
    assert meta["model"]["profile"] == profile  # chosen from the served name, no --profile
    assert [s["action"]["type"] for s in steps] == types
    assert all(s["raw_text"].startswith(prefix) for s in steps), [s["raw_text"] for s in steps]
    for step in steps:  # every tap is inside the frame, in frame px (1080 x 2400, the device's own)
        action = step["action"]
        if action["type"] == "tap":
            assert 0 <= action["x"] <= 1080 and 0 <= action["y"] <= 2400
