"""The onnx backend on an exported tiny package: parity with our torch model and HF `generate`,
the KV cache, streaming, package verification, the memory guard, and running without torch."""

import shutil

import numpy as np
import pytest
import torch

from tests.notorch import run_without_torch
from tests.qwen2vl_tiny import hf_config, hf_model
from tests.test_engine_torch import CASES, chat, hf_generate, picture
from vlagent.perception import engine as E
from vlagent.perception import engine_onnx as O
from vlagent.perception import positions as P
from vlagent.perception.export.manifest import PackageError, decoder_io_names, read_manifest
from vlagent.perception.export.package import export_package
from vlagent.perception.model import Qwen2VL
from vlagent.perception.tokenizer import (
    IM_END,
    IMAGE_PAD,
    VIDEO_PAD,
    VISION_END,
    VISION_START,
    build_small_tokenizer,
)

torch.set_num_threads(2)
NEW = 32
TOL = 1e-4


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """(checkpoint dir, fp32 package dir, HF model, torch engine, onnx engine)."""
    root = tmp_path_factory.mktemp("onnx")
    checkpoint = root / "checkpoint"
    checkpoint.mkdir()
    tok = build_small_tokenizer(checkpoint)
    ids = tok.special_ids
    hf = hf_model(hf_config(vocab_size=tok.vocab_size, image_token_id=ids[IMAGE_PAD], video_token_id=ids[VIDEO_PAD],
                            vision_start_token_id=ids[VISION_START], vision_end_token_id=ids[VISION_END],
                            eos_token_id=ids[IM_END]), seed=1)
    hf.save_pretrained(checkpoint)
    export_package(checkpoint, root / "package")
    return checkpoint, root / "package", hf, E.load(checkpoint), E.load(root / "package", backend="onnx")


def encode_case(engine, case):
    """ids [1, L], positions, deltas and the ONNX features for one CASES entry."""
    prompt, images, videos = CASES[case]
    rows, image_input, video_input = engine._prepare([prompt], [images], [videos])
    ids = np.array(rows)
    grids = [None if v is None else v.grid_thw for v in (image_input, video_input)]
    c = engine.config
    positions, deltas = P.get_rope_index(ids, grids[0], grids[1], spatial_merge_size=2,
                                         image_token_id=c.image_token_id, video_token_id=c.video_token_id)
    return ids, positions, deltas, image_input, video_input


@pytest.mark.parametrize("case", list(CASES))
def test_prefill_logits_match_torch_at_every_position(tiny, case):
    checkpoint, _, _, _, onnx_engine = tiny
    backend = onnx_engine.backend
    ours = Qwen2VL.from_pretrained(checkpoint)
    ids, positions, deltas, image_input, video_input = encode_case(onnx_engine, case)
    kwargs = {}
    if image_input is not None:
        kwargs.update(pixel_values=torch.from_numpy(image_input.pixel_values), image_grid_thw=image_input.grid_thw)
    if video_input is not None:
        kwargs.update(pixel_values_videos=torch.from_numpy(video_input.pixel_values), video_grid_thw=video_input.grid_thw)
    with torch.no_grad():
        ref = ours(torch.from_numpy(ids), **kwargs).numpy()
    features = [None if v is None else backend.encode(v.pixel_values, v.grid_thw) for v in (image_input, video_input)]
    t = backend.config.text
    inputs, _ = decoder_io_names(t.num_hidden_layers)
    feed = {name: np.zeros((1, t.num_key_value_heads, 0, t.head_dim), np.float32) for name in inputs[4:]}
    feed.update(inputs_embeds=backend._embed(ids, *features), attention_mask=np.ones_like(ids), position_ids=positions,
                logits_index=np.arange(ids.shape[1]))
    got = backend.decoder.run(["logits"], feed)[0]
    assert ref.std() > 0.1 and got.shape == ref.shape
    assert np.abs(got - ref).max() < TOL


def test_vision_matches_torch_for_mixed_grids(tiny):
    checkpoint, _, _, _, onnx_engine = tiny
    ours = Qwen2VL.from_pretrained(checkpoint)
    for grids in ([[1, 4, 6]], [[1, 2, 2], [3, 4, 2], [1, 6, 6]]):
        grid = np.array(grids)
        pixels = np.random.default_rng(0).standard_normal((int(grid.prod(-1).sum()), 1176)).astype(np.float32)
        with torch.no_grad():
            ref = ours.encode_images(torch.from_numpy(pixels), grid).numpy()
        got = onnx_engine.backend.encode(pixels, grid)
        assert got.shape == ref.shape and np.abs(got - ref).max() < TOL


@pytest.mark.parametrize("case", list(CASES))
def test_greedy_tokens_match_hf_generate_and_torch(tiny, case):
    _, _, hf, torch_engine, onnx_engine = tiny
    prompt, images, videos = CASES[case]
    got = onnx_engine.generate(prompt, images=images, videos=videos, max_new_tokens=NEW, ignore_eos=True)
    ref, prompt_len = hf_generate(onnx_engine, hf, prompt, images, videos, max_new_tokens=NEW, eos_token_id=None)
    assert got.token_ids == ref and len(ref) == NEW and got.prompt_tokens == prompt_len
    assert got.token_ids == torch_engine.generate(prompt, images=images, videos=videos, max_new_tokens=NEW,
                                                  ignore_eos=True).token_ids
    assert len(got.timings["decode"]) == NEW - 1
    assert all(got.timings[k] > 0 for k in ("preprocess", "vision", "prefill"))


def test_cache_growth_and_left_padded_batch_keep_tokens(tiny):
    _, package, _, torch_engine, onnx_engine = tiny
    small = E.load(package, backend="onnx", cache_headroom=3, verify=False)  # grows ~10 times in 32 steps
    prompt, images, _ = CASES["two_images"]
    expected = onnx_engine.generate(prompt, images=images, max_new_tokens=NEW, ignore_eos=True).token_ids
    assert small.generate(prompt, images=images, max_new_tokens=NEW, ignore_eos=True).token_ids == expected
    prompts = [CASES["one_image"][0], chat(1, text="Hi")]
    images = [CASES["one_image"][1], [picture(112, 56, 5)]]
    batch = small.generate_batch(prompts, images=images, max_new_tokens=12, ignore_eos=True)
    assert batch[0].prompt_tokens != batch[1].prompt_tokens
    reference = torch_engine.generate_batch(prompts, images=images, max_new_tokens=12, ignore_eos=True)
    assert [g.token_ids for g in batch] == [g.token_ids for g in reference]


def test_stream_and_decode_steps_reuse_one_cache(tiny):
    _, _, _, _, onnx_engine = tiny
    prompt, images, _ = CASES["one_image"]
    seen = []
    got = onnx_engine.generate(prompt, images=images, max_new_tokens=8, ignore_eos=True,
                               stream=lambda delta, token: seen.append((delta, token)))
    assert [t for _, t in seen] == got.token_ids and "".join(d for d, _ in seen) == got.text

    backend = onnx_engine.backend
    ids, positions, deltas, image_input, _ = encode_case(onnx_engine, "one_image")
    logits, state = backend.prefill(ids, positions, deltas, backend.encode(image_input.pixel_values, image_input.grid_thw))
    cache, length = state.keys[0], state.length
    for step in range(1, 6):
        token = int(np.argmax(logits[0]))
        assert token == got.token_ids[step - 1]
        logits, state = backend.decode(state, np.array([token]))
        assert state.keys[0] is cache and state.length == length + step  # one slot written, no new buffer
        assert state.mask[0, : state.length].all() and not state.mask[0, state.length : -1].any()


PROBE = """
import sys
import numpy as np
import vlagent.perception.engine as E
from vlagent.perception.chat import render_chat

image = np.random.default_rng(0).integers(0, 256, (56, 84, 3), dtype=np.uint8)
parts = [{"type": "image"}, {"type": "text", "text": "Find the Settings icon and tap it."}]
engine = E.load(sys.argv[1], backend="onnx")
got = engine.generate(render_chat([{"role": "user", "content": parts}]), images=[image], max_new_tokens=32, ignore_eos=True)
print(got.token_ids)
assert not [m for m in sys.modules if m.split(".")[0] in ("torch", "transformers", "onnx")], "heavy import"
"""


def test_runs_without_torch(tiny):
    _, package, _, _, onnx_engine = tiny
    prompt, images, _ = CASES["one_image"]
    assert prompt == chat(1) and np.array_equal(images[0], picture(56, 84, 0))  # what PROBE rebuilds
    expected = onnx_engine.generate(prompt, images=images, max_new_tokens=NEW, ignore_eos=True).token_ids
    result = run_without_torch(PROBE, str(package))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(expected)


def test_changed_or_missing_files_are_refused_by_name(tiny, tmp_path):
    _, package, _, _, _ = tiny
    copy = tmp_path / "package"
    shutil.copytree(package, copy)
    data = copy / "decoder.onnx.data"
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    data.write_bytes(bytes(raw))
    with pytest.raises(PackageError, match="decoder.onnx.data"):
        E.load(copy, backend="onnx")
    E.load(copy, backend="onnx", verify=False)  # sizes still match: only the hash check catches it
    (copy / "tokenizer.json").unlink()
    with pytest.raises(PackageError, match="tokenizer.json is missing"):
        E.load(copy, backend="onnx", verify=False)


def test_checkpoint_dir_is_not_a_package(tiny):
    checkpoint, _, _, _, _ = tiny
    with pytest.raises(O.NotAPackageError, match="vlagent export") as error:
        E.load(checkpoint, backend="onnx")
    assert isinstance(error.value, E.BackendNotAvailableError)


def test_memory_guard_names_the_numbers(tiny):
    _, package, _, _, _ = tiny
    manifest = read_manifest(package)
    graph_bytes = sum(e["bytes"] for n, e in manifest["files"].items() if ".onnx" in n)
    enough = graph_bytes * 2 + O.RUN_RESERVE
    O.check_memory(package, manifest, available=enough)
    with pytest.raises(O.InsufficientMemoryError, match="needs about .* GiB .* available") as error:
        O.check_memory(package, manifest, available=O.RUN_RESERVE)
    assert error.value.needed > error.value.available == O.RUN_RESERVE
    assert O.available_memory() > 0  # Linux: /proc/meminfo is read
