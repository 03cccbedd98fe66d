"""Prompts, the grounding and agent policies on real engines, and the loop's retry path.

A tiny random checkpoint is built here and exported with `vlagent export`'s code, so the same
weights run on the torch and the onnx engine. A random model answers gibberish, which is
exactly what the retry path needs; the shipped model's grounding is checked when it is trained.
"""

import json

import numpy as np
import pytest
import torch

from tests.agent_helpers import fast_loop, small_env
from tests.qwen2vl_tiny import hf_config, hf_model
from vlagent.agent.actions import KeyPress, Tap
from vlagent.agent.errors import ConfigError, PolicyOutputError
from vlagent.agent.interfaces import Decision, Observation
from vlagent.agent.loop import run_episode
from vlagent.agent.registry import PolicyContext, make_policy
from vlagent.perception import engine as E
from vlagent.perception.export.package import export_package
from vlagent.perception.frame import Frame
from vlagent.perception.tokenizer import (
    IM_END,
    IMAGE_PAD,
    VIDEO_PAD,
    VISION_END,
    VISION_START,
    build_small_tokenizer,
)
from vlagent.policies.action_grammar import ActionGrammarError
from vlagent.policies.agent import AgentPolicy, history_lines
from vlagent.policies.grounding import GroundingOutputError, GroundingPolicy, interpret, target_of
from vlagent.policies.model_options import manifest_sha256, model_options
from vlagent.policies.prompts import PromptError, agent_prompt, grounding_prompt

torch.set_num_threads(1)
PIXELS = {"min_pixels": 28 * 28 * 4, "max_pixels": 28 * 28 * 48}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(checkpoint dir, package dir) of one tiny random Qwen2-VL."""
    root = tmp_path_factory.mktemp("policy-model")
    checkpoint = root / "checkpoint"
    checkpoint.mkdir()
    tok = build_small_tokenizer(checkpoint)
    ids = tok.special_ids
    hf_model(hf_config(vocab_size=tok.vocab_size, image_token_id=ids[IMAGE_PAD], video_token_id=ids[VIDEO_PAD],
                       vision_start_token_id=ids[VISION_START], vision_end_token_id=ids[VISION_END],
                       eos_token_id=ids[IM_END]), seed=3).save_pretrained(checkpoint)
    export_package(checkpoint, root / "package")
    return checkpoint, root / "package"


def frame(seed=0, size=(120, 200)) -> Frame:
    width, height = size
    image = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return Frame(image=image, captured_at=0.0)


# ----- prompts ------------------------------------------------------------------------------

def test_grounding_prompt_puts_the_query_before_the_image():
    assert grounding_prompt("Wi-Fi") == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
        "Find Wi-Fi<|vision_start|><|image_pad|><|vision_end|><|im_end|>\n<|im_start|>assistant\n")


def test_agent_prompt_holds_task_and_last_four_actions():
    prompt = agent_prompt("Turn on\nWi-Fi", ["key home", "tap A", "tap B", "tap C", 'type "x  y"'])
    assert "user\nTask: Turn on Wi-Fi\nHistory: tap A; tap B; tap C; type \"x  y\"\nNext action?<|vision_start|>" in prompt
    assert "History: none\n" in agent_prompt("Turn on Wi-Fi", [])
    assert agent_prompt("Turn on Wi-Fi", "tap A; tap B") == agent_prompt("Turn on Wi-Fi", ["tap A", "tap B"])
    with pytest.raises(PromptError):
        agent_prompt("  ", [])
    with pytest.raises(PromptError):
        grounding_prompt("")


def test_history_lines_name_taps_by_their_grounded_label():
    history = [Decision(Tap(x=1, y=2), grounding={"label": "Settings"}), Decision(KeyPress(key="back")),
               Decision(Tap(x=1, y=2))]
    assert history_lines(history) == ["tap Settings", "key back", "tap"]


# ----- grounding: pure parts ---------------------------------------------------------------

@pytest.mark.parametrize("instruction, expected", [
    ("tap Wi-Fi", ("Wi-Fi", False)), ("Tap on 'Display'", ("Display", False)), ("Wi-Fi", ("Wi-Fi", False)),
    ("long press Note 3", ("Note 3", True)), ('click "OK"', ("OK", False)),
])
def test_target_of_instruction(instruction, expected):
    assert target_of(instruction) == expected


def test_interpret_maps_norm1000_to_image_px():
    text = "<|object_ref_start|>Wi-Fi<|object_ref_end|><|box_start|>(100,250),(300,500)<|box_end|>"
    result = interpret(text, (1080, 2400))
    assert result.label == "Wi-Fi"
    assert result.box_norm == (100, 250, 300, 500)
    assert result.box_px == pytest.approx((108, 600, 324, 1200))
    assert result.center_px == pytest.approx((216, 900))
    with pytest.raises(GroundingOutputError) as info:
        interpret("Wi-Fi is at the top", (1080, 2400))
    assert isinstance(info.value, PolicyOutputError) and info.value.raw_text == "Wi-Fi is at the top"


# ----- real engines -------------------------------------------------------------------------

def test_policies_answer_the_same_on_torch_and_onnx(tiny):
    checkpoint, package = tiny
    shot = frame(1)
    texts = {}
    for backend, path in (("torch", checkpoint), ("onnx", package)):
        engine = E.load(path, backend=backend, **PIXELS)
        for policy in (GroundingPolicy(engine, max_new_tokens=12), AgentPolicy(engine, max_new_tokens=12)):
            try:
                decision = policy.act(Observation(shot, "tap Wi-Fi"), [])
                texts[backend, type(policy).__name__] = decision.raw_text
            except PolicyOutputError as error:
                texts[backend, type(policy).__name__] = error.raw_text
    for name in ("GroundingPolicy", "AgentPolicy"):
        assert texts["torch", name] == texts["onnx", name]
        assert texts["onnx", name]  # the model said something


def test_unparseable_output_takes_the_loops_retry_path(tiny, tmp_path):
    _, package = tiny
    engine = E.load(package, backend="onnx", **PIXELS)
    env = small_env(tmp_path)
    handle = env.setup_task("settings.wifi_on")
    greedy = engine.generate(grounding_prompt("Settings"), images=[env.source.capture().image], max_new_tokens=12).text
    steps = []
    result = run_episode(env.source, GroundingPolicy(engine, max_new_tokens=12), env.actuator,
                         instruction="tap Settings", config=fast_loop(parse_retries=2),
                         on_step=lambda data: steps.append(data))
    assert result.status == "parse_error" and result.steps == 1
    attempts = steps[0].attempts
    assert len(attempts) == 3 and attempts[0]["raw_text"] == greedy
    assert "no box" in attempts[0]["error"] or "malformed" in attempts[0]["error"]
    assert attempts[1]["feedback"] and greedy[:20] in attempts[1]["feedback"]
    env.close()
    assert handle.instruction == "Turn on Wi-Fi"


@pytest.mark.parametrize("name", ["qwen2.5-vl", "ui-tars-1.5"])
def test_a_family_profiles_unreadable_answer_takes_the_retry_path_with_its_error_as_feedback(tiny, tmp_path, name):
    from vlagent.perception.chat import render_chat
    from vlagent.policies.agent import model_screen
    from vlagent.policies.profiles import get_profile

    _, package = tiny
    engine = E.load(package, backend="onnx", **PIXELS)
    profile = get_profile(name)
    env = small_env(tmp_path)
    env.setup_task("settings.wifi_on")
    shot = env.source.capture()
    screen = model_screen(engine, shot.size)
    greedy = engine.generate(render_chat(profile.messages("Turn on Wi-Fi", [], screen)), images=[shot.image],
                             max_new_tokens=16).text
    steps = []
    result = run_episode(env.source, AgentPolicy(engine, max_new_tokens=16, profile=profile), env.actuator,
                         instruction="Turn on Wi-Fi", config=fast_loop(parse_retries=2), on_step=steps.append)
    env.close()
    assert result.status == "parse_error" and result.steps == 1  # a random model never writes the format
    attempts = steps[0].attempts
    assert len(attempts) == 3 and attempts[0]["raw_text"] == greedy
    assert ("<tool_call>" if name == "qwen2.5-vl" else "Action:") in attempts[0]["error"]
    assert attempts[1]["feedback"] and attempts[0]["error"] in attempts[1]["feedback"]
    # The feedback is shown to a released family's model (after the screenshot), bounded.
    retried = render_chat(profile.messages("Turn on Wi-Fi", [], screen, attempts[1]["feedback"]))
    assert "Feedback: Your previous output could not be used" in retried


def test_agent_policy_retries_sample_a_different_answer(tiny):
    _, package = tiny
    engine = E.load(package, backend="onnx", **PIXELS)
    policy = AgentPolicy(engine, max_new_tokens=16)
    shot = frame(2)
    raws = []
    for feedback, retry in ((None, False), ("your previous output could not be used", True), ("again", True)):
        with pytest.raises(ActionGrammarError) as info:
            policy.act(Observation(shot, "Turn on Wi-Fi", feedback=feedback, retry=retry), [])
        raws.append(info.value.raw_text)
    greedy = engine.generate(agent_prompt("Turn on Wi-Fi", []), images=[shot.image], max_new_tokens=16).text
    assert raws[0] == greedy
    assert len(set(raws)) > 1  # greedy first, then sampled retries
    # Feedback without a retry (a new step after a blocked or failed action) stays greedy.
    with pytest.raises(ActionGrammarError) as info:
        policy.act(Observation(shot, "Turn on Wi-Fi", feedback="Your action was blocked by the safety gate"), [])
    assert info.value.raw_text == greedy


def test_registry_builds_model_policies_from_options(tiny):
    checkpoint, package = tiny
    for name in ("grounding", "agent"):
        policy = make_policy(name, PolicyContext(options={"model": str(package), **PIXELS}))
        assert policy.manifest_sha256 == manifest_sha256(package)
        assert len(policy.manifest_sha256) == 64
    torch_policy = make_policy("agent", PolicyContext(options={"model": str(checkpoint), "backend": "torch"}))
    assert torch_policy.manifest_sha256 is None
    with pytest.raises(ConfigError, match="max_pixel"):
        model_options({"max_pixel": 100})
    with pytest.raises(ConfigError, match="backend"):
        model_options({"backend": "tensorrt"})
    with pytest.raises(ConfigError, match="not a directory"):
        make_policy("agent", PolicyContext(options={"model": str(checkpoint / "missing")}))


# ----- the shipped model ----------------------------------------------------------------------

def shipped_is_trained() -> bool:
    from vlagent.perception.demo_model import path

    manifest = json.loads((path() / "manifest.json").read_text())
    return bool((manifest.get("training") or {}).get("eval"))


@pytest.mark.skipif(not shipped_is_trained(), reason="the shipped package is the untrained placeholder")
def test_shipped_model_grounding_policy_end_to_end(tmp_path):
    """Mechanics with a trained model (its accuracy is perception/train's test): the queried
    name is copied, the tap is the centre of the answered box in frame px, and the episode
    finishes after the one tap."""
    from vlagent.agent.envs import SimPhoneEnv
    from vlagent.perception.grounding import parse_groundings

    env = SimPhoneEnv(5, state_file=tmp_path / "s.json", fresh=True)
    env.setup_task("settings.wifi_on:5")  # the home screen
    policy = make_policy("grounding", PolicyContext(options={}))
    shot = env.source.capture()
    icons = [n for n in shot.ui_tree if n.resource_id == "com.android.launcher3:id/icon" and n.text][:4]
    for node in icons:
        decision = policy.act(Observation(shot, f"tap {node.text}"), [])
        (grounding,) = parse_groundings(decision.raw_text)
        x1, y1, x2, y2 = (v * s / 1000 for v, s in zip(grounding.boxes[0], (1080, 2400, 1080, 2400), strict=True))
        assert grounding.label == decision.grounding["label"] == node.text
        assert (decision.action.x, decision.action.y) == pytest.approx(((x1 + x2) / 2, (y1 + y2) / 2))
    steps = []
    result = run_episode(env.source, policy, env.actuator, instruction=f"tap {icons[0].text}", config=fast_loop(),
                         on_step=steps.append)
    env.close()
    assert result.status == "finished" and [s.decision.action.type for s in steps] == ["tap", "finish"]


def test_run_command_takes_model_and_records_its_manifest(tiny, tmp_path):
    from typer.testing import CliRunner

    from vlagent.agent.cli import app

    _, package = tiny
    result = CliRunner().invoke(app, [
        "run", "--env", "sim-phone:1", "--task", "settings.wifi_on:1", "--policy", "agent", "--model", str(package),
        "--policy-opt", f"max_pixels={PIXELS['max_pixels']}", "--record", str(tmp_path / "ep"), "--headless",
        "--env-opt", f"state_file={tmp_path / 'state.json'}", "--json"])
    assert result.exit_code == 1, result.output  # a random model does not succeed
    assert json.loads(result.stdout.strip().splitlines()[-1])["status"] == "parse_error"
    meta = json.loads((tmp_path / "ep" / "episode.json").read_text())
    assert meta["model"]["manifest_sha256"] == manifest_sha256(package)
    assert meta["policy"]["options"]["model"] == str(package)
