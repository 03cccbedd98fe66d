"""Prefix reuse in the ONNX backend: an agent's second step reuses the KV cache of the text its
first step shares (system message, instruction) and gets exactly the logits and text of a full
prefill; nothing after the first vision token is ever reused."""

import numpy as np

from vlagent.perception import engine as E
from vlagent.perception.chat import render_chat
from vlagent.perception.demo_model import path
from vlagent.policies.profiles import get_profile
from vlagent.policies.profiles.base import HistoryItem, Screen
from vlagent.sim.phone import Phone

IMAGES = [Phone(seed=1).render(), Phone(seed=2).render()]


def prompts(profile_name: str) -> list[str]:
    """Two consecutive steps of one episode in a profile's format (history grows, new screenshot)."""
    from vlagent.agent.actions import Tap

    profile = get_profile(profile_name)
    screen = Screen((1080.0, 2400.0), (196.0, 448.0))
    first = render_chat(profile.messages("Turn on Wi-Fi", [], screen))
    tap = Tap(x=540, y=300)
    answer = profile.format_answer(tap, screen, ("Settings", (500.0, 250.0, 580.0, 350.0)))
    second = render_chat(profile.messages("Turn on Wi-Fi", [HistoryItem(tap, answer, "Settings")], screen))
    return [first, second]


def shared_text_prefix(engine, first: str, second: str) -> int:
    a, b = (engine.prepare([p], [[IMAGES[0]]]).ids[0] for p in (first, second))
    c = engine.config
    stop = min(int(np.flatnonzero(a == c.vision_start_token_id)[0]), int(np.flatnonzero(b == c.vision_start_token_id)[0]))
    same = a[:stop] == b[:stop]
    return stop if same.all() else int(np.argmin(same))


def test_second_step_reuses_the_shared_prefix_with_identical_logits_and_text():
    reuse = E.load(path(), backend="onnx", threads=1)
    full = E.load(path(), backend="onnx", threads=1, prefix_reuse=False)
    for name in ("vlagent", "qwen2.5-vl", "ui-tars-1.5"):
        steps = prompts(name)
        expected = shared_text_prefix(reuse, *steps)
        assert expected > 20
        for step, (prompt, image) in enumerate(zip(steps, IMAGES, strict=True)):
            got = reuse.generate(prompt, images=[image], max_new_tokens=12)
            want = full.generate(prompt, images=[image], max_new_tokens=12)
            assert got.text == want.text and got.token_ids == want.token_ids
            assert want.timings["reused_tokens"] == 0
            if step == 1:
                assert got.timings["reused_tokens"] == expected, name
            logits_reused = reuse.prefill(prompt, images=[image])[0]
            logits_full = full.prefill(prompt, images=[image])[0]
            np.testing.assert_allclose(logits_reused, logits_full, atol=1e-4)


def test_reuse_never_crosses_an_image_and_always_computes_one_token():
    engine = E.load(path(), backend="onnx", threads=1)
    prompt = prompts("vlagent")[0]
    engine.generate(prompt, images=[IMAGES[0]], max_new_tokens=2)
    # The same prompt with another screenshot: everything up to the image is reused, not the image.
    again = engine.generate(prompt, images=[IMAGES[1]], max_new_tokens=2)
    ids = engine.prepare([prompt], [[IMAGES[1]]]).ids[0]
    assert again.timings["reused_tokens"] == int(np.flatnonzero(ids == engine.config.vision_start_token_id)[0])
    # A text-only prompt that is all prefix still leaves its last token to compute.
    text = "<|im_start|>user\nhello there<|im_end|>\n<|im_start|>assistant\n"
    engine.generate(text, max_new_tokens=2)
    repeat = engine.generate(text, max_new_tokens=2)
    assert repeat.timings["reused_tokens"] == len(engine.prepare([text], [[]]).ids[0]) - 1
    # A prompt that shares only its first token (<|im_start|>) reuses that; one that differs
    # from the first token reuses nothing.
    assert engine.generate("<|im_start|>system\nX<|im_end|>\n", max_new_tokens=2).timings["reused_tokens"] == 1
    assert engine.generate("plain text", max_new_tokens=2).timings["reused_tokens"] == 0
