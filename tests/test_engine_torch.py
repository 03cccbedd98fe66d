"""The torch-backend engine against HF transformers 5.24 `generate` on a tiny random checkpoint."""

import numpy as np
import pytest
import torch

from tests.notorch import run_without_torch
from tests.qwen2vl_tiny import hf_config, hf_model
from vlagent.perception import engine as E
from vlagent.perception.chat import VisionPadCountError
from vlagent.perception.tokenizer import (
    IM_END,
    IMAGE_PAD,
    VIDEO_PAD,
    VISION_END,
    VISION_START,
    UnknownTokenError,
    build_small_tokenizer,
    expand_vision_pads,
    render_chat,
)

torch.set_num_threads(2)
NEW = 32


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """(engine, HF model, checkpoint dir) sharing one tiny checkpoint and the small tokenizer."""
    path = tmp_path_factory.mktemp("engine")
    tok = build_small_tokenizer(path)
    ids = tok.special_ids
    hf = hf_model(hf_config(vocab_size=tok.vocab_size, image_token_id=ids[IMAGE_PAD], video_token_id=ids[VIDEO_PAD],
                            vision_start_token_id=ids[VISION_START], vision_end_token_id=ids[VISION_END],
                            eos_token_id=ids[IM_END]), seed=1)
    hf.save_pretrained(path)
    return E.load(path), hf, path


def picture(h, w, seed):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def chat(n_images=0, n_videos=0, text="Find the Settings icon and tap it."):
    parts = [{"type": "image"}] * n_images + [{"type": "video"}] * n_videos + [{"type": "text", "text": text}]
    return render_chat([{"role": "user", "content": parts}])


CASES = {  # name -> (prompt, images, videos)
    "one_image": (chat(1), [picture(56, 84, 0)], []),
    "two_images": (chat(2), [picture(84, 56, 1), picture(112, 140, 2)], []),
    "video": (chat(0, 1), [], [[picture(56, 56, 10 + i) for i in range(4)]]),
}


def hf_generate(engine, hf, prompt, images, videos, **kwargs):
    """HF generate on the same patches and ids the engine builds; returns the new token ids."""
    tok, proc, config = engine.tokenizer, engine.processor, engine.config
    image_inputs = [proc.preprocess_image(image) for image in images]
    video_inputs = [proc.preprocess_video(frames) for frames in videos]
    text = expand_vision_pads(prompt, [v.num_tokens for v in image_inputs], [v.num_tokens for v in video_inputs])
    ids = torch.tensor([tok.encode(text)])
    inputs = dict(input_ids=ids, attention_mask=torch.ones_like(ids),
                  mm_token_type_ids=(ids == config.image_token_id).long() + 2 * (ids == config.video_token_id).long())
    if image_inputs:
        inputs.update(pixel_values=torch.from_numpy(np.concatenate([v.pixel_values for v in image_inputs])),
                      image_grid_thw=torch.from_numpy(np.concatenate([v.grid_thw for v in image_inputs])))
    if video_inputs:
        inputs.update(pixel_values_videos=torch.from_numpy(np.concatenate([v.pixel_values for v in video_inputs])),
                      video_grid_thw=torch.from_numpy(np.concatenate([v.grid_thw for v in video_inputs])))
    with torch.no_grad():
        out = hf.generate(**inputs, do_sample=False, pad_token_id=0, **kwargs)
    return out[0, ids.shape[1]:].tolist(), ids.shape[1]


@pytest.mark.parametrize("case", list(CASES))
def test_greedy_matches_hf_generate(setup, case):
    engine, hf, _ = setup
    prompt, images, videos = CASES[case]
    got = engine.generate(prompt, images=images, videos=videos, max_new_tokens=NEW, ignore_eos=True)
    ref, prompt_len = hf_generate(engine, hf, prompt, images, videos, max_new_tokens=NEW, eos_token_id=None)
    assert got.token_ids == ref and len(ref) == NEW
    assert got.prompt_tokens == prompt_len and got.finish_reason == "length"
    assert got.text == engine.tokenizer.decode(got.token_ids)
    assert len(got.timings["decode"]) == NEW - 1
    assert all(got.timings[k] > 0 for k in ("preprocess", "vision", "prefill"))


def test_stream_receives_every_token(setup):
    engine, _, _ = setup
    prompt, images, _ = CASES["two_images"]
    seen = []
    got = engine.generate(prompt, images=images, max_new_tokens=NEW, ignore_eos=True,
                          stream=lambda delta, token: seen.append((delta, token)))
    assert [t for _, t in seen] == got.token_ids
    assert "".join(d for d, _ in seen) == got.text


def test_stops_on_eos_like_hf(setup):
    engine, hf, _ = setup
    prompt, images, _ = CASES["one_image"]
    free = engine.generate(prompt, images=images, max_new_tokens=NEW, ignore_eos=True).token_ids
    # a token whose first appearance is late enough to leave text before it
    index, stop = next((i, t) for i, t in enumerate(free) if i >= 2 and t not in free[:i])
    stopping = E.Engine(engine.backend, engine.tokenizer, engine.processor, engine.config, [stop])
    got = stopping.generate(prompt, images=images, max_new_tokens=NEW)
    assert got.token_ids == free[: index + 1] and got.finish_reason == "stop"
    assert got.text == engine.tokenizer.decode(free[:index])
    ref, _ = hf_generate(engine, hf, prompt, images, [], max_new_tokens=NEW, eos_token_id=stop)
    assert ref == got.token_ids
    assert stopping.generate(prompt, images=images, max_new_tokens=NEW, ignore_eos=True).token_ids == free


def test_sampling_is_reproducible_with_a_seed(setup):
    engine, _, _ = setup
    prompt, images, _ = CASES["one_image"]
    kwargs = dict(images=images, max_new_tokens=16, do_sample=True, temperature=1.5, top_p=0.95, ignore_eos=True)
    first = engine.generate(prompt, seed=7, **kwargs).token_ids
    assert engine.generate(prompt, seed=7, **kwargs).token_ids == first
    others = {tuple(engine.generate(prompt, seed=s, **kwargs).token_ids) for s in (8, 9, 10)}
    assert others - {tuple(first)}  # different seeds draw different tokens


def test_batch_with_left_padding_matches_single_prompts(setup):
    engine, _, _ = setup
    prompts = [CASES["one_image"][0], chat(1, text="Hi")]
    images = [CASES["one_image"][1], [picture(112, 56, 5)]]
    batch = engine.generate_batch(prompts, images=images, max_new_tokens=12, ignore_eos=True)
    assert batch[0].prompt_tokens != batch[1].prompt_tokens  # the shorter one was padded
    for prompt, imgs, got in zip(prompts, images, batch, strict=True):
        assert got.token_ids == engine.generate(prompt, images=imgs, max_new_tokens=12, ignore_eos=True).token_ids


def test_bad_arguments_raise_typed_errors(setup):
    engine, _, path = setup
    with pytest.raises(VisionPadCountError):
        engine.generate(chat(1), images=[picture(56, 56, 0)] * 2)
    with pytest.raises(E.EngineError, match="max_new_tokens"):
        engine.generate(chat(0), max_new_tokens=0)
    with pytest.raises(E.EngineError, match="unknown options"):
        E.load(path, warp_speed=True)
    with pytest.raises(E.BackendNotAvailableError):
        E.load(path, backend="onnx")


def test_engine_module_imports_without_torch(setup):
    _, _, path = setup
    result = run_without_torch(f"""
        import sys
        import vlagent.perception.engine as E
        assert "torch" not in sys.modules
        try:
            E.load({str(path)!r}, backend="onnx")
        except E.BackendNotAvailableError:
            pass
        assert "torch" not in sys.modules
        """)
    assert result.returncode == 0, result.stderr


def test_an_lm_head_wider_than_the_tokenizer_never_yields_a_padding_id(tmp_path):
    """Qwen2-VL pads its LM head past the tokenizer's ids; an untrained model must still decode
    (greedy and sampled), choosing only ids the tokenizer can turn into text."""
    tok = build_small_tokenizer(tmp_path)
    ids = tok.special_ids
    hf = hf_model(hf_config(vocab_size=tok.vocab_size + 64, image_token_id=ids[IMAGE_PAD], video_token_id=ids[VIDEO_PAD],
                            vision_start_token_id=ids[VISION_START], vision_end_token_id=ids[VISION_END],
                            eos_token_id=ids[IM_END]), seed=3)
    with torch.no_grad():  # make the padding rows win every argmax unless they are masked
        hf.lm_head.weight[tok.vocab_size:] = hf.lm_head.weight[:64] * 50
    hf.save_pretrained(tmp_path)
    engine = E.load(tmp_path)
    assert engine.output_vocab == tok.vocab_size
    prompt, images, _ = CASES["one_image"]
    engine.output_vocab = tok.vocab_size + 64  # unmasked, the padding rows win and cannot be decoded
    with pytest.raises(UnknownTokenError):
        engine.generate(prompt, images=images, max_new_tokens=12, ignore_eos=True)
    engine.output_vocab = tok.vocab_size
    for sample in (False, True):
        got = engine.generate(prompt, images=images, max_new_tokens=12, ignore_eos=True, do_sample=sample, seed=0)
        assert len(got.token_ids) == 12 and max(got.token_ids) < tok.vocab_size
