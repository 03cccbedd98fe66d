"""Our torch Qwen2-VL against HF transformers 5.24 on tiny random checkpoints (fp32, 1e-5)."""

import dataclasses
import json

import numpy as np
import pytest
import torch

from tests.qwen2vl_tiny import hf_config, hf_model, vision_block
from vlagent.perception import positions as P
from vlagent.perception.model import QWEN2_VL_2B, ConfigError, Qwen2VL, Qwen2VLConfig
from vlagent.perception.model.config import param_counts
from vlagent.perception.model.weights import CheckpointError

torch.set_num_threads(2)
IMG, VID, VS, VE = 290, 291, 288, 289
TOL = 1e-5


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """(HF model, our model loaded from HF's save_pretrained, checkpoint dir)."""
    path = tmp_path_factory.mktemp("tiny")
    hf = hf_model(hf_config())
    hf.save_pretrained(path)
    return hf, Qwen2VL.from_pretrained(path), path


def pixels(grids, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(int(np.prod(grids, axis=-1).sum()), 1176, generator=g)


def mm_types(ids):
    return (ids == IMG).long() + 2 * (ids == VID).long()


# name -> (token ids, image grids, video grids)
CASES = {
    "text": ([5, 6, 7, 8, 9, 10], None, None),
    "one_image": ([5, 6] + vision_block((1, 4, 6)) + [7, 8], [[1, 4, 6]], None),
    "two_images": ([5] + vision_block((1, 6, 4)) + [6, 7] + vision_block((1, 2, 2)) + [8], [[1, 6, 4], [1, 2, 2]], None),
    "video": ([5, 6] + vision_block((2, 4, 4), pad=VID) + [7], None, [[2, 4, 4]]),  # 4 frames
    "long_video": ([5] + vision_block((4, 2, 2), pad=VID) + [7, 8], None, [[4, 2, 2]]),  # t > h/2: 5.24 rule
}


def run_both(hf, ours, ids, images, videos, mask=None):
    ids = torch.tensor(ids)
    kwargs = {}
    if images:
        kwargs.update(pixel_values=pixels(images), image_grid_thw=torch.tensor(images))
    if videos:
        kwargs.update(pixel_values_videos=pixels(videos, seed=1), video_grid_thw=torch.tensor(videos))
    with torch.no_grad():
        ref = hf(input_ids=ids, attention_mask=mask, mm_token_type_ids=mm_types(ids), **kwargs).logits
        got = ours(ids, attention_mask=mask, **kwargs)
    return ref, got


@pytest.mark.parametrize("case", list(CASES))
def test_logits_match_hf(pair, case):
    hf, ours, _ = pair
    ids, images, videos = CASES[case]
    ref, got = run_both(hf, ours, [ids], images, videos)
    assert ref.std() > 0.1  # the comparison is not between near-zero tensors
    assert got.shape == ref.shape
    assert (got - ref).abs().max() < TOL


@pytest.mark.parametrize("grids", [[[1, 4, 6]], [[1, 6, 4], [1, 2, 2]], [[2, 4, 4]], [[2, 6, 2], [1, 4, 4]]])
def test_vision_embeddings_match_hf(pair, grids):
    hf, ours, _ = pair
    pv, grid = pixels(grids), torch.tensor(grids)
    with torch.no_grad():
        ref = torch.cat(hf.model.get_image_features(pv, grid).pooler_output)
        got = ours.encode_images(pv, grid)
    assert got.shape == (int(np.prod(grids, axis=-1).sum()) // 4, 64)
    assert (got - ref).abs().max() < TOL


def left_padded(rows, pad=0):
    width = max(len(r) for r in rows)
    ids = torch.tensor([[pad] * (width - len(r)) + r for r in rows])
    mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows])
    return ids, mask


ROPE_CASES = {
    "text": ([CASES["text"][0]], None, None, None),
    "one_image": ([CASES["one_image"][0]], [[1, 4, 6]], None, None),
    "two_images": ([CASES["two_images"][0]], [[1, 6, 4], [1, 2, 2]], None, None),
    "video": ([CASES["video"][0]], None, [[2, 4, 4]], None),
    "long_video": ([CASES["long_video"][0]], None, [[4, 2, 2]], None),
    "padded_batch": ([CASES["one_image"][0], [9] + vision_block((1, 2, 4)) + [5]], [[1, 4, 6], [1, 2, 4]], None, True),
    "padded_text": ([[5, 6, 7], [5, 6, 7, 8, 9, 10]], None, None, True),
}


@pytest.mark.parametrize("case", list(ROPE_CASES))
def test_rope_index_matches_hf(pair, case):
    hf, _, _ = pair
    rows, images, videos, padded = ROPE_CASES[case]
    ids, mask = left_padded(rows) if padded else (torch.tensor(rows), None)
    ref_pos, ref_delta = hf.model.get_rope_index(
        ids, mm_types(ids), None if images is None else torch.tensor(images),
        None if videos is None else torch.tensor(videos), mask)
    pos, delta = P.get_rope_index(ids.numpy(), images, videos, None if mask is None else mask.numpy(),
                                  spatial_merge_size=2, image_token_id=IMG, video_token_id=VID,
                                  vision_start_token_id=VS)
    np.testing.assert_array_equal(pos, ref_pos.numpy())
    np.testing.assert_array_equal(delta, ref_delta.numpy())


def test_rope_index_reference_example():
    """The note's example: A B <vs> pad x4 <ve> C, grid (1, 4, 4) -> delta -2."""
    pos, delta = P.get_rope_index([[1, 2, VS, IMG, IMG, IMG, IMG, VE, 3]], [[1, 4, 4]], spatial_merge_size=2,
                                  image_token_id=IMG, video_token_id=VID)
    assert pos[:, 0].tolist() == [[0, 1, 2, 3, 3, 3, 3, 5, 6], [0, 1, 2, 3, 3, 4, 4, 5, 6], [0, 1, 2, 3, 4, 3, 4, 5, 6]]
    assert delta.tolist() == [[-2]]


def test_rope_index_rejects_mismatched_grids():
    with pytest.raises(P.PositionError, match="grid"):
        P.get_rope_index([[1] + vision_block((1, 4, 4))], [[1, 4, 4], [1, 2, 2]], spatial_merge_size=2,
                         image_token_id=IMG, video_token_id=VID)
    with pytest.raises(P.PositionError, match="needs 4 tokens"):
        P.get_rope_index([[1, VS, IMG, IMG, VE]], [[1, 4, 4]], spatial_merge_size=2,
                         image_token_id=IMG, video_token_id=VID)


def test_left_padded_batch_matches_hf(pair):
    hf, ours, _ = pair
    rows = [CASES["two_images"][0], [9, 10] + vision_block((1, 2, 4)) + [5]]
    images = [[1, 6, 4], [1, 2, 2], [1, 2, 4]]
    ids, mask = left_padded(rows)
    ref, got = run_both(hf, ours, ids.tolist(), images, None, mask)
    valid = mask.bool()
    assert (got[valid] - ref[valid]).abs().max() < TOL
    assert torch.isfinite(got).all()  # padded rows stay finite (no -inf softmax)


def test_cached_decode_matches_full_forward_with_padding(pair):
    """Prefill + one cached step per row equals the unpadded full forward of each row."""
    _, ours, _ = pair
    rows = [CASES["one_image"][0], [9] + vision_block((1, 2, 4)) + [5, 6, 7, 8, 9, 10]]
    images = [[1, 4, 6], [1, 2, 4]]
    pv = pixels(images)
    per_row = [pv[:24], pv[24:]]  # 1*4*6 patch rows, then 1*2*4
    ids, mask = left_padded(rows)
    nxt = [11, 12]
    with torch.no_grad():
        _, cache = ours(ids, pixel_values=pv, image_grid_thw=torch.tensor(images), attention_mask=mask, use_cache=True)
        step = ours(torch.tensor([[t] for t in nxt]), past_key_values=cache,
                    attention_mask=torch.cat([mask, torch.ones(2, 1, dtype=torch.long)], 1))
        for b, row in enumerate(rows):
            full = ours(torch.tensor([row + [nxt[b]]]), pixel_values=per_row[b], image_grid_thw=torch.tensor([images[b]]))
            assert (step[b, -1] - full[0, -1]).abs().max() < TOL


def test_save_pretrained_loads_in_hf(tmp_path):
    from transformers import Qwen2VLForConditionalGeneration

    config = Qwen2VLConfig.from_dict(hf_config(tie=True).to_dict())
    assert config.tie_word_embeddings
    torch.manual_seed(3)
    ours = Qwen2VL(config).eval()
    ours.save_pretrained(tmp_path)
    hf = Qwen2VLForConditionalGeneration.from_pretrained(tmp_path).eval()
    ids, images, _ = CASES["two_images"]
    ref, got = run_both(hf, ours, [ids], images, None)
    assert (got - ref).abs().max() < TOL
    again = Qwen2VL.from_pretrained(tmp_path)
    assert all(torch.equal(a, b) for a, b in zip(again.state_dict().values(), ours.state_dict().values(), strict=True))


def test_hf_config_round_trip_fields():
    from transformers import Qwen2VLConfig as HFConfig

    hf = HFConfig(**QWEN2_VL_2B.to_dict())
    assert hf.text_config.hidden_size == 1536 and hf.text_config.num_key_value_heads == 2
    assert hf.text_config.rope_parameters["mrope_section"] == [16, 24, 24]
    assert hf.text_config.rms_norm_eps == 1e-6 and hf.tie_word_embeddings
    assert hf.vision_config.embed_dim == 1280 and hf.vision_config.hidden_size == 1536
    assert Qwen2VLConfig.from_dict(hf.to_dict()) == QWEN2_VL_2B


FLAT_2B = {  # Qwen2-VL-2B-Instruct's config.json (transformers 4.x layout)
    "architectures": ["Qwen2VLForConditionalGeneration"], "model_type": "qwen2_vl",
    "bos_token_id": 151643, "eos_token_id": 151645, "vision_start_token_id": 151652,
    "vision_end_token_id": 151653, "vision_token_id": 151654, "image_token_id": 151655,
    "video_token_id": 151656, "hidden_act": "silu", "hidden_size": 1536, "intermediate_size": 8960,
    "max_position_embeddings": 32768, "max_window_layers": 28, "num_attention_heads": 12,
    "num_hidden_layers": 28, "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
    "sliding_window": 32768, "tie_word_embeddings": True, "torch_dtype": "bfloat16", "use_cache": True,
    "use_sliding_window": False, "vocab_size": 151936,
    "vision_config": {"depth": 32, "embed_dim": 1280, "mlp_ratio": 4, "num_heads": 16, "in_chans": 3,
                      "hidden_size": 1536, "patch_size": 14, "spatial_merge_size": 2,
                      "spatial_patch_size": 14, "temporal_patch_size": 2},
    "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]},
}


def test_flat_and_nested_layouts_read_the_same():
    flat = Qwen2VLConfig.from_dict(FLAT_2B)
    assert flat == QWEN2_VL_2B.replace(eos_token_ids=(151645,), pad_token_id=None)
    nested = Qwen2VLConfig.from_dict(json.loads(json.dumps(QWEN2_VL_2B.to_dict())))
    assert nested == QWEN2_VL_2B.replace(eos_token_ids=(151645, 151643))


def test_flat_config_loads_hf_weights(pair, tmp_path):
    """An HF checkpoint whose config.json is rewritten in the 4.x flat layout loads the same."""
    hf, ours, path = pair
    nested = json.loads((path / "config.json").read_text())
    text, vision = nested.pop("text_config"), nested.pop("vision_config")
    rope = text.pop("rope_parameters")
    flat = nested | text | {"model_type": "qwen2_vl", "vision_config": vision | {"in_chans": 3},
                            "rope_theta": rope["rope_theta"],
                            "rope_scaling": {"type": "mrope", "mrope_section": rope["mrope_section"]}}
    (tmp_path / "config.json").write_text(json.dumps(flat))
    (tmp_path / "model.safetensors").symlink_to(path / "model.safetensors")
    loaded = Qwen2VL.from_pretrained(tmp_path)
    assert loaded.config == ours.config
    ids, images, _ = CASES["one_image"]
    ref, got = run_both(hf, loaded, [ids], images, None)
    assert (got - ref).abs().max() < TOL


def test_sharded_checkpoint_and_5x_module_names_load(pair, tmp_path):
    from safetensors.torch import load_file, save_file

    hf, ours, path = pair
    hf.save_pretrained(tmp_path / "sharded", max_shard_size="100KB")
    assert (tmp_path / "sharded" / "model.safetensors.index.json").is_file()
    sharded = Qwen2VL.from_pretrained(tmp_path / "sharded")
    renamed = {k.replace("model.", "model.language_model.", 1) if k.startswith("model.") else "model." + k
               if k.startswith("visual.") else k: v for k, v in load_file(path / "model.safetensors").items()}
    assert any(k.startswith("model.language_model.") for k in renamed)
    (tmp_path / "renamed").mkdir()
    save_file(renamed, tmp_path / "renamed" / "model.safetensors")
    (tmp_path / "renamed" / "config.json").write_text((path / "config.json").read_text())
    for loaded in (sharded, Qwen2VL.from_pretrained(tmp_path / "renamed")):
        for (name, a), b in zip(ours.state_dict().items(), loaded.state_dict().values(), strict=True):
            assert torch.equal(a, b), name


def test_learned_abs_pos_forward_and_round_trip(tmp_path):
    base = Qwen2VLConfig.from_dict(hf_config().to_dict())
    config = base.replace(vision=dataclasses.replace(base.vision, learned_abs_pos=True, abs_pos_max_side=8))
    torch.manual_seed(0)
    model = Qwen2VL(config).eval()
    assert "visual.pos_row.weight" in model.state_dict()
    assert "visual.pos_row.weight" not in Qwen2VL(base).state_dict()
    ids, images, _ = CASES["two_images"]
    with torch.no_grad():
        logits = model(torch.tensor([ids]), pixel_values=pixels(images), image_grid_thw=torch.tensor(images))
        model.save_pretrained(tmp_path)
        again = Qwen2VL.from_pretrained(tmp_path)
        assert again.config.vision.learned_abs_pos and again.config.vision.abs_pos_max_side == 8
        assert torch.equal(again(torch.tensor([ids]), pixel_values=pixels(images), image_grid_thw=torch.tensor(images)), logits)
        with pytest.raises(ValueError, match="abs_pos_max_side"):
            model.encode_images(pixels([[1, 10, 2]]), [[1, 10, 2]])


def test_checkpoint_errors_name_the_keys(pair, tmp_path):
    from safetensors.torch import load_file, save_file

    _, _, path = pair
    tensors = load_file(path / "model.safetensors")
    tensors.pop("model.norm.weight")
    tensors["visual.extra.weight"] = torch.zeros(1)
    save_file(tensors, tmp_path / "model.safetensors")
    (tmp_path / "config.json").write_text((path / "config.json").read_text())
    with pytest.raises(CheckpointError, match="text.norm.weight") as err:
        Qwen2VL.from_pretrained(tmp_path)
    assert "visual.extra.weight" in str(err.value)
    (tmp_path / "model.safetensors").unlink()
    with pytest.raises(CheckpointError, match="no model.safetensors"):
        Qwen2VL.from_pretrained(tmp_path)


def test_config_validation_errors():
    with pytest.raises(ConfigError, match="mrope_section"):
        Qwen2VLConfig.from_dict(FLAT_2B | {"rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 16]}})
    with pytest.raises(ConfigError, match="image_token_id"):
        Qwen2VLConfig.from_dict(FLAT_2B | {"vocab_size": 1000})
    with pytest.raises(ConfigError, match="rope type"):
        Qwen2VLConfig.from_dict(FLAT_2B | {"rope_scaling": {"type": "yarn", "factor": 4}})
    with pytest.raises(ConfigError, match="model_type"):
        Qwen2VLConfig.from_dict(FLAT_2B | {"model_type": "qwen2_5_vl"})


def test_param_counts_match_the_modules():
    from transformers import Qwen2VLForConditionalGeneration

    hf = Qwen2VLForConditionalGeneration(hf_config())
    counts = param_counts(Qwen2VLConfig.from_dict(hf.config.to_dict()))
    assert counts["total"] == sum(p.numel() for p in hf.parameters())
    assert counts["merger"] == sum(p.numel() for p in hf.model.visual.merger.parameters())
    two_b = param_counts(QWEN2_VL_2B)
    assert 2.1e9 < two_b["total"] < 2.3e9 and 0.6e9 < two_b["vision"] + two_b["merger"] < 0.7e9


def test_vision_tower_exports_with_dynamic_patch_count(pair):
    """torch.export keeps N (patch rows) and the frame count symbolic: no grid baked in."""
    _, ours, _ = pair
    rows, frames = torch.export.Dim("rows", min=1, max=50_000), torch.export.Dim("bounds", min=2, max=1000)
    grids = np.array([[1, 4, 6], [2, 4, 4]])

    def inputs(g):
        return (pixels(g), torch.from_numpy(P.vision_positions(g, 2)), torch.from_numpy(P.vision_cu_seqlens(g)))

    program = torch.export.export(ours.visual, inputs(grids), dynamic_shapes=({0: 4 * rows}, {0: 4 * rows}, {0: frames}))
    with torch.no_grad():
        for other in ([[1, 8, 2]], [[1, 2, 2], [3, 2, 4], [1, 6, 6]]):
            assert (program.module()(*inputs(np.array(other))) - ours.visual(*inputs(np.array(other)))).abs().max() < TOL


@pytest.mark.parametrize("grids", [[[1, 4, 6]], [[2, 6, 2], [1, 2, 2], [3, 4, 4]]])
def test_vision_positions_and_cu_seqlens_match_hf(grids):
    from transformers.vision_utils import get_vision_cu_seqlens, get_vision_position_ids

    grid = torch.tensor(grids)
    np.testing.assert_array_equal(P.vision_positions(grids, 2), get_vision_position_ids(grid, 2).numpy())
    np.testing.assert_array_equal(P.vision_cu_seqlens(grids), get_vision_cu_seqlens(grid).numpy())
    mask = P.vision_attention_mask(P.vision_cu_seqlens(grids))
    cu = P.vision_cu_seqlens(grids)
    for a, b in zip(cu[:-1], cu[1:], strict=True):  # exactly the frame blocks on the diagonal
        assert mask[a:b, a:b].all() and mask[a:b].sum() == (b - a) ** 2


def test_explicit_positions_give_the_same_cache(pair):
    _, ours, _ = pair
    ids, images, _ = CASES["one_image"]
    ids, kwargs = torch.tensor([ids]), dict(pixel_values=pixels(images), image_grid_thw=torch.tensor(images))
    positions, deltas = ours.get_rope_index(ids, images)
    with torch.no_grad():
        a, cache_a = ours(ids, use_cache=True, **kwargs)
        b, cache_b = ours(ids, position_ids=positions, use_cache=True, **kwargs)
    assert torch.equal(a, b) and torch.equal(cache_a.rope_deltas, deltas) and torch.equal(cache_b.rope_deltas, deltas)
