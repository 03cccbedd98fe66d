"""Resolution-free learned absolute positions (`VisionConfig.abs_pos_ref_grid`): any grid size
and aspect ratio runs, the reference grid reads exactly what index mode reads, and the ONNX
package computes what the torch model does at grids beyond the tables."""

import dataclasses

import numpy as np
import pytest
import torch

from tests.qwen2vl_tiny import hf_config, small_tokenizer_hf_config
from vlagent.perception import positions as P
from vlagent.perception.model import ConfigError, Qwen2VL, Qwen2VLConfig
from vlagent.perception.model.vision import lerp_rows


def tiny(ref=None, side=8):
    base = Qwen2VLConfig.from_dict(hf_config().to_dict())
    vision = dataclasses.replace(base.vision, learned_abs_pos=True, abs_pos_max_side=side, abs_pos_ref_grid=ref)
    torch.manual_seed(0)
    return Qwen2VL(base.replace(vision=vision)).eval()


def pixels(grid, seed=0):
    n = int(np.prod(grid, axis=-1).sum())
    return torch.from_numpy(np.random.default_rng(seed).standard_normal((n, 1176)).astype(np.float32))


def test_coords_are_the_index_on_the_reference_grid_and_relative_elsewhere():
    on_ref = P.vision_abs_coords([[1, 6, 4]], 2, (6, 4))
    assert np.array_equal(on_ref, P.vision_positions([[1, 6, 4]], 2).astype(np.float32))
    wide = P.vision_abs_coords([[1, 12, 80]], 2, (6, 4))  # twice the rows, 20x the columns
    assert wide.min() >= 0 and wide[:, 0].max() <= 5 and wide[:, 1].max() <= 3
    index = P.vision_positions([[1, 12, 80]], 2)
    # the same relative place: row i of 12 sits where row i/2 of 6 does
    assert np.allclose(wide[index[:, 0] == 5, 0], (5.5 * 6 / 12) - 0.5)
    assert np.all(np.diff(wide[index[:, 1].argsort(kind="stable"), 1]) >= 0)


def test_lerp_reads_table_rows_and_interpolates_between_them():
    table = torch.arange(12.0).reshape(4, 3)
    got = lerp_rows(table, torch.tensor([0.0, 2.0, 3.0, 1.25, -0.4, 3.7]))
    want = torch.stack([table[0], table[2], table[3], table[1] * 0.75 + table[2] * 0.25, table[0], table[3]])
    assert torch.allclose(got, want)


def test_reference_grid_matches_index_mode_and_larger_grids_run():
    indexed, relative = tiny(None), tiny((6, 4))
    relative.load_state_dict(indexed.state_dict())
    grid = [[1, 6, 4]]
    with torch.no_grad():
        assert torch.allclose(indexed.encode_images(pixels(grid), grid), relative.encode_images(pixels(grid), grid), atol=1e-6)
        big = [[1, 40, 18]]  # 40 rows: beyond the 8-row tables
        with pytest.raises(ValueError, match="abs_pos_max_side"):
            indexed.encode_images(pixels(big), big)
        out = relative.encode_images(pixels(big), big)
    assert out.shape == (40 * 18 // 4, relative.config.vision.hidden_size) and torch.isfinite(out).all()


def test_reference_grid_round_trips_and_is_validated(tmp_path):
    model = tiny((6, 4))
    model.save_pretrained(tmp_path)
    assert Qwen2VL.from_pretrained(tmp_path).config.vision.abs_pos_ref_grid == (6, 4)
    base = Qwen2VLConfig.from_dict(hf_config().to_dict()).vision
    for bad, match in (((6,), "two ints"), ((0, 4), "two ints"), ((9, 4), "two ints"), ("64", "two ints")):
        with pytest.raises(ConfigError, match=match):
            dataclasses.replace(base, learned_abs_pos=True, abs_pos_max_side=8, abs_pos_ref_grid=bad)
    with pytest.raises(ConfigError, match="needs learned_abs_pos"):
        dataclasses.replace(base, abs_pos_ref_grid=(6, 4))


def test_onnx_package_runs_any_grid_like_torch(tmp_path):
    from vlagent.perception import engine as E
    from vlagent.perception.export.package import export_package
    from vlagent.perception.tokenizer import build_small_tokenizer

    model = tiny((6, 4))
    checkpoint = tmp_path / "checkpoint"
    model.save_pretrained(checkpoint)
    build_small_tokenizer().save(checkpoint / "tokenizer.json")
    export_package(checkpoint, tmp_path / "package")
    engine = E.load(tmp_path / "package", backend="onnx")
    import onnxruntime as ort

    names = [i.name for i in ort.InferenceSession(str(tmp_path / "package" / "vision.onnx")).get_inputs()]
    assert names == ["pixel_values", "positions", "cu_seqlens", "abs_coords"]
    import onnx

    # the tables keep their names (one copy each), so perception/train/from_package.py reads them back
    tables = [i.name for i in onnx.load(str(tmp_path / "package" / "vision.onnx"), load_external_data=False).graph.initializer
              if list(i.dims) == [8, model.config.vision.embed_dim]]
    assert sorted(tables) == ["visual.pos_col.weight", "visual.pos_row.weight"]
    # a tablet (1600x2560 px at 1024 tokens: 90x56 patches), a landscape screen, and two frames of different sizes
    for grid in ([[1, 90, 56]], [[1, 14, 32]], [[1, 6, 4], [1, 20, 12]]):
        with torch.no_grad():
            want = model.encode_images(pixels(grid), grid).numpy()
        got = engine.backend.encode(pixels(grid).numpy(), np.array(grid))
        assert got.shape == want.shape and np.abs(got - want).max() < 1e-4, grid


def test_index_mode_package_caps_large_images_and_names_oversize_grids(tmp_path):
    """A model whose tables end at a grid side (v1, shipped until v5: 64 patches) runs any
    image at the largest size its tables take, in both backends' engines, and a grid beyond
    the tables given to the backend directly is a ModelInputError, not onnxruntime's Gather."""
    from PIL import Image

    from vlagent.perception import engine as E
    from vlagent.perception.export.package import export_package
    from vlagent.perception.model import ModelInputError
    from vlagent.perception.tokenizer import build_small_tokenizer

    tok = build_small_tokenizer()
    base = Qwen2VLConfig.from_dict(small_tokenizer_hf_config(tok).to_dict())
    torch.manual_seed(0)
    model = Qwen2VL(base.replace(vision=dataclasses.replace(base.vision, learned_abs_pos=True, abs_pos_max_side=8))).eval()
    checkpoint = tmp_path / "checkpoint"
    model.save_pretrained(checkpoint)
    tok.save(checkpoint / "tokenizer.json")
    export_package(checkpoint, tmp_path / "package")
    assert model.config.vision.max_grid_side == 8 and model.config.vision.max_input_side == 8 * 14
    tablet = Image.fromarray(np.random.default_rng(0).integers(0, 255, (2560, 1600, 3), dtype=np.uint8))
    prompt = "<|vision_start|><|image_pad|><|vision_end|>Find Wi-Fi"
    for backend, path in (("onnx", tmp_path / "package"), ("torch", checkpoint)):
        engine = E.load(path, backend=backend, max_pixels=1024 * 28 * 28)
        assert engine.processor.resized_size(2560, 1600) == (112, 56)  # 8 x 4 patches: the tables' side
        grid = engine.prepare([prompt], [[tablet]]).image_input.grid_thw
        assert grid.tolist() == [[1, 8, 4]]
        assert engine.generate(prompt, [tablet], max_new_tokens=2).prompt_tokens > 0
    with pytest.raises(ModelInputError, match="grid side 90 patches exceeds abs_pos_max_side 8"):
        E.load(tmp_path / "package", backend="onnx").backend.encode(pixels([[1, 90, 56]]).numpy(), np.array([[1, 90, 56]]))
