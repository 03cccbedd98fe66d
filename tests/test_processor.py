"""Qwen2-VL preprocessing against transformers 5.24 (the pinned reference).

Images: bit-identical pixel_values and grid_thw to `Qwen2VLImageProcessorPil`. Videos: the
reference `Qwen2VLVideoProcessor` imports torchvision (not installed here), so its own
`sample_frames` and `patchify` methods are loaded from its source file and run with torch.
"""

import ast
import inspect
import math
import types

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from tests.notorch import run_without_torch
from vlagent.perception.image_ops import ImageInputError, resize_bicubic
from vlagent.perception.processor import (
    CLIP_MEAN,
    CLIP_STD,
    ImageProcessor,
    ImageSizeError,
    VisionInput,
    smart_resize,
)
from vlagent.perception.video import VideoInputError, frame_max_pixels, sample_frame_indices

transformers = pytest.importorskip("transformers")
from transformers import Qwen2VLImageProcessorPil  # noqa: E402
from transformers.models.qwen2_vl import image_processing_pil_qwen2_vl as hf_image  # noqa: E402

BIG = 12845056  # the checkpoint's max_pixels


def reference(images, **kwargs):
    out = Qwen2VLImageProcessorPil(**kwargs)(images=images, return_tensors="np")
    return out["pixel_values"], out["image_grid_thw"]


def assert_bit_identical(ours: VisionInput, ref_values: np.ndarray, ref_grid: np.ndarray) -> None:
    assert ours.grid_thw.dtype == np.int64 and np.array_equal(ours.grid_thw, ref_grid)
    assert ours.pixel_values.dtype == np.float32 == ref_values.dtype
    assert ours.pixel_values.shape == ref_values.shape
    assert np.array_equal(ours.pixel_values.view(np.uint32), ref_values.view(np.uint32))


def noise(height: int, width: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (height, width, channels), dtype=np.uint8)


# ---- smart_resize ---------------------------------------------------------------------------


def test_round_half_to_even():
    assert smart_resize(70, 98, min_pixels=1, max_pixels=10**9) == (56, 112)
    assert smart_resize(98, 70, min_pixels=1, max_pixels=10**9) == (112, 56)


def test_floor_branch_when_over_max_pixels():
    assert smart_resize(2400, 1080) == (1484, 672)
    h, w = smart_resize(4000, 3000)
    assert h * w <= 28 * 28 * 1280 and h % 28 == 0 and w % 28 == 0


def test_ceil_branch_when_under_min_pixels():
    assert smart_resize(10, 10) == (56, 56)
    h, w = smart_resize(20, 60)
    assert h * w >= 56 * 56 and (h, w) == (56, 112)


def test_aspect_ratio_limit():
    assert smart_resize(28, 5600) == (28, 5600)  # exactly 200 is allowed
    with pytest.raises(ImageSizeError, match="aspect ratio"):
        smart_resize(28, 5601)
    with pytest.raises(ImageSizeError, match="aspect ratio"):
        ImageProcessor().preprocess_image(np.zeros((2, 500, 3), np.uint8))


@pytest.mark.parametrize("size", [(0, 10), (10, 0), (-5, 10)])
def test_non_positive_sides(size):
    with pytest.raises(ImageSizeError, match="positive"):
        smart_resize(*size)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 9000),
    st.integers(1, 9000),
    st.sampled_from([56 * 56, 256 * 28 * 28]),
    st.sampled_from([28 * 28 * 1280, BIG, 28 * 28 * 64]),
)
def test_smart_resize_matches_reference(height, width, min_pixels, max_pixels):
    if max(height, width) / min(height, width) > 200:
        with pytest.raises(ImageSizeError):
            smart_resize(height, width, 28, min_pixels, max_pixels)
        return
    expected = hf_image.smart_resize(height, width, 28, min_pixels, max_pixels)
    assert smart_resize(height, width, 28, min_pixels, max_pixels) == expected


def test_paper_token_examples():
    big = ImageProcessor(max_pixels=BIG)
    assert big.num_image_tokens(1092, 8204) == 11427 == big.num_image_tokens(8204, 1092)
    assert ImageProcessor().num_image_tokens(28, 224) == 8


def test_screenshot_table():
    default, big = ImageProcessor(), ImageProcessor(max_pixels=BIG)
    assert default.resized_size(2400, 1080) == (1484, 672)
    assert default.num_image_tokens(2400, 1080) == 1272
    assert big.resized_size(2400, 1080) == (2408, 1092)
    assert big.num_image_tokens(2400, 1080) == 3354
    out = default.preprocess_image(np.zeros((2400, 1080, 3), np.uint8))
    assert out.grid_thw.tolist() == [[1, 106, 48]] and out.num_tokens == 1272
    assert out.pixel_values.shape == (106 * 48, 1176)


def test_rescale_identity_behind_fused_normalise():
    values = np.arange(256)
    reference_scale = (values.astype(np.float64) * (1 / 255)).astype(np.float32)
    fused = np.divide(values.astype(np.uint8), np.float32(255), dtype=np.float32)
    assert np.array_equal(fused.view(np.uint32), reference_scale.view(np.uint32))


# ---- bit parity with the reference image processor -------------------------------------------

PARITY_SIZES = [  # (height, width)
    (2400, 1080),
    (1080, 2400),
    (1484, 672),
    (672, 1484),
    (1920, 1080),
    (768, 1024),
    (70, 98),
    (294, 406),
    (42, 42),
    (434, 14 + 28 * 9),
    (518, 602),  # 28k+14 sides
    (28, 4000),
    (4000, 28),
    (21, 4000),
    (4000, 21),
    (15, 2900),
    (1, 150),  # ratios up to ~190
    (20, 20),
    (10, 60),
    (1, 1),
    (56, 56),
    (55, 57),  # under min_pixels
    (3000, 2000),
    (2048, 2048),
    (1300, 1100),  # over max_pixels
    (333, 777),
    (501, 499),
    (999, 123),
    (224, 28),
    (28, 224),
    (640, 480),
]


@pytest.mark.parametrize("size", PARITY_SIZES, ids=[f"{h}x{w}" for h, w in PARITY_SIZES])
def test_image_parity(size):
    image = Image.fromarray(noise(*size, seed=size[0] * 7 + size[1]), "RGB")
    ref_values, ref_grid = reference(image)
    assert_bit_identical(ImageProcessor(threads=1).preprocess_image(image), ref_values, ref_grid)
    assert_bit_identical(ImageProcessor(threads=2).preprocess_image(image), ref_values, ref_grid)


@pytest.mark.parametrize("size", [(2400, 1080), (600, 900), (1080, 2400)])
def test_image_parity_upscaled_to_checkpoint_limits(size):
    image = Image.fromarray(noise(*size, seed=5), "RGB")
    ref_values, ref_grid = reference(image, min_pixels=256 * 28 * 28, max_pixels=BIG)
    ours = ImageProcessor(min_pixels=256 * 28 * 28, max_pixels=BIG, threads=2)
    assert_bit_identical(ours.preprocess_image(image), ref_values, ref_grid)


def _mode_images():
    rgba = Image.fromarray(noise(300, 200, 4, seed=1), "RGBA")
    palette = Image.fromarray(noise(300, 200, seed=2), "RGB").quantize(64)
    keyed = palette.copy()
    keyed.info["transparency"] = 3
    return {
        "RGBA": rgba,
        "L": Image.fromarray(noise(310, 190, 1, seed=3)[..., 0], "L"),
        "P": palette,
        "P+transparency": keyed,
        "LA": rgba.convert("LA"),
        "CMYK": Image.fromarray(noise(300, 200, seed=4), "RGB").convert("CMYK"),
        "1": Image.fromarray(noise(128, 96, 1, seed=6)[..., 0], "L").convert("1"),
    }


@pytest.mark.parametrize("mode", list(_mode_images()))
def test_mode_parity(mode):
    image = _mode_images()[mode]
    assert_bit_identical(ImageProcessor().preprocess_image(image), *reference(image))


@pytest.mark.parametrize("channels", [3, 4, 1])
def test_numpy_parity(channels):
    array = noise(257, 389, channels, seed=channels)
    assert_bit_identical(ImageProcessor().preprocess_image(array), *reference(array))


def test_multi_image_concat():
    images = [
        Image.fromarray(noise(*s, seed=i), "RGB")
        for i, s in enumerate([(300, 500), (2400, 1080), (40, 40)])
    ]
    ours = ImageProcessor().preprocess_images(images)
    assert_bit_identical(ours, *reference(images))
    assert ours.grid_thw.shape == (3, 3)
    assert ours.token_counts == [int(t * h * w) // 4 for t, h, w in ours.grid_thw]
    assert ours.num_tokens == sum(ours.token_counts)
    parts = [ImageProcessor().preprocess_image(image) for image in images]
    joined = VisionInput.concat(parts)
    assert np.array_equal(joined.pixel_values, ours.pixel_values)
    assert np.array_equal(joined.grid_thw, ours.grid_thw)


def test_resize_split_matches_pillow_for_both_pass_orders():
    from concurrent.futures import ThreadPoolExecutor

    image = Image.fromarray(noise(1700, 900, seed=9), "RGB")
    with ThreadPoolExecutor(3) as pool:
        # Height shrinks a lot (vertical pass first in Pillow 13), then width-dominated, then upscale.
        for size in [(504, 1064), (336, 1624), (1232, 2352), (900, 1064), (504, 1700)]:
            expected = np.asarray(image.resize(size, Image.Resampling.BICUBIC))
            assert np.array_equal(resize_bicubic(image, size, pool, parts=3), expected), size


def test_bad_inputs_raise_typed_errors():
    processor = ImageProcessor()
    with pytest.raises(ImageInputError, match="uint8"):
        processor.preprocess_image(np.zeros((50, 50, 3), np.float32))
    with pytest.raises(ImageInputError, match="shape"):
        processor.preprocess_image(np.zeros((50, 50, 2), np.uint8))
    with pytest.raises(ImageInputError, match="PIL image or a numpy array"):
        processor.preprocess_image("screen.png")
    with pytest.raises(ImageInputError, match="sequence"):
        processor.preprocess_images([])
    with pytest.raises(ValueError, match="min_pixels"):
        ImageProcessor(min_pixels=10**7, max_pixels=10**6)


def test_from_config_reads_checkpoint_settings(tmp_path):
    config = {
        "min_pixels": 3136,
        "max_pixels": BIG,
        "patch_size": 14,
        "merge_size": 2,
        "image_mean": list(CLIP_MEAN),
    }
    (tmp_path / "preprocessor_config.json").write_text(__import__("json").dumps(config))
    processor = ImageProcessor.from_config(tmp_path)
    assert processor.max_pixels == BIG and processor.image_std == CLIP_STD
    assert processor.num_image_tokens(1092, 8204) == 11427


def test_runtime_modules_never_import_torch():
    result = run_without_torch(
        """
        import numpy as np
        from vlagent.perception.processor import ImageProcessor
        from vlagent.perception.tokenizer import build_small_tokenizer
        out = ImageProcessor().preprocess_image(np.zeros((100, 200, 3), np.uint8))
        assert out.num_tokens == 28, out.num_tokens  # 112x196 px
        assert build_small_tokenizer().encode("<|im_end|>") == [build_small_tokenizer().eos_ids[0]]
        """
    )
    assert result.returncode == 0, result.stderr


# ---- video -----------------------------------------------------------------------------------


def hf_video_method(name: str):
    """A method of transformers' Qwen2VLVideoProcessor, compiled from its source with torch."""
    import torch
    from transformers.models.qwen2_vl import configuration_qwen2_vl

    path = inspect.getfile(configuration_qwen2_vl).replace(
        "configuration_qwen2_vl", "video_processing_qwen2_vl"
    )
    tree = ast.parse(open(path).read())
    cls = next(
        n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Qwen2VLVideoProcessor"
    )
    func = next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == name)
    for arg in func.args.args + func.args.kwonlyargs:
        arg.annotation = None
    func.returns = None
    namespace = {"torch": torch, "math": math}
    exec(compile(ast.Module(body=[func], type_ignores=[]), path, "exec"), namespace)
    return namespace[name]


@pytest.mark.parametrize("source_fps", [1, 7.5, 24, 29.97, 30, 60])
def test_frame_sampling_matches_reference(source_fps):
    sample = hf_video_method("sample_frames")
    owner = types.SimpleNamespace(
        num_frames=None, fps=None, temporal_patch_size=2, min_frames=4, max_frames=768
    )
    compared = 0
    for total in range(2, 1800, 7):
        ours = sample_frame_indices(total, source_fps)
        metadata = types.SimpleNamespace(total_num_frames=total, fps=source_fps)
        theirs = sample(owner, metadata, fps=2).numpy()
        assert len(ours) % 2 == 0 and np.all(np.diff(ours) > 0)
        # The reference's float32 arange sometimes adds one index past its own count.
        assert np.array_equal(theirs[: len(ours)], ours) and len(theirs) - len(ours) in (0, 1)
        compared += len(theirs) == len(ours)
    assert compared > 100


def video_frames(count: int, height: int = 120, width: int = 160) -> list[np.ndarray]:
    return [noise(height, width, seed=100 + i) for i in range(count)]


def reference_video_patches(frames: list[np.ndarray], size: tuple[int, int]) -> np.ndarray:
    """The reference's rescale/normalise (PIL path) and its video patchify, run with torch."""
    import torch

    patchify = hf_video_method("patchify")
    resized = [
        np.asarray(Image.fromarray(f).resize(size, Image.Resampling.BICUBIC)) for f in frames
    ]
    image_processor = Qwen2VLImageProcessorPil()
    normalised = [
        image_processor.normalize(
            image_processor.rescale(np.moveaxis(r, -1, 0), 1 / 255), CLIP_MEAN, CLIP_STD
        )
        for r in resized
    ]
    video = torch.from_numpy(np.stack(normalised))[None]  # (1, T, C, H, W)
    patches, *_ = patchify(None, video, patch_size=14, merge_size=2, temporal_patch_size=2)
    return patches[0].numpy()


def test_video_patches_match_reference_and_pad_to_even():
    frames = video_frames(5)
    out = ImageProcessor().preprocess_video(frames)  # no source fps: keep all 5, pad to 6
    assert out.grid_thw.tolist() == [[3, 8, 12]]  # 120x160 px -> 112x168 px -> 8x12 patches
    assert out.num_tokens == 3 * 8 * 12 // 4
    expected = reference_video_patches(
        frames, (168, 112)
    )  # reference pads by repeating the last frame
    assert np.array_equal(out.pixel_values.view(np.uint32), expected.view(np.uint32))
    last_pair = out.pixel_values[2 * 96 :].reshape(-1, 3, 2, 196)
    assert np.array_equal(last_pair[:, :, 0], last_pair[:, :, 1])


def test_video_samples_two_frames_per_second():
    frames = np.stack(
        [np.full((56, 56, 3), i, np.uint8) for i in range(90)]
    )  # 3 s at 30 fps, [T, H, W, C]
    out = ImageProcessor().preprocess_video(frames, source_fps=30)
    assert out.grid_thw.tolist() == [[3, 4, 4]]
    # Each frame is one flat grey level, so its first value tells which frame was picked.
    first = out.pixel_values.reshape(3, 16, 3, 2, 196)[:, 0, 0, :, 0]
    picked = np.round((first * CLIP_STD[0] + CLIP_MEAN[0]) * 255).astype(int).reshape(-1)
    assert picked.tolist() == [0, 15, 30, 45, 60, 75]


def test_video_token_cap():
    frames = [np.zeros((720, 1280, 3), np.uint8)] * 40  # 20 s at 2 fps of 720p
    processor = ImageProcessor()
    assert processor.num_image_tokens(720, 1280) * 20 > 16384  # would not fit uncapped
    out = processor.preprocess_video(frames, source_fps=2)
    assert out.grid_thw[0, 0] == 20 and 0.8 * 16384 < out.num_tokens <= 16384
    assert frame_max_pixels(20, processor.max_pixels) == 819 * 28 * 28
    small = processor.preprocess_video(frames[:8], max_tokens=64)
    assert small.num_tokens <= 64
    with pytest.raises(VideoInputError, match="cannot fit"):
        frame_max_pixels(100, processor.max_pixels, max_tokens=64)


def test_video_frames_must_share_one_size():
    frames = video_frames(2) + [noise(100, 160)]
    with pytest.raises(VideoInputError, match="one size"):
        ImageProcessor().preprocess_video(frames)
    with pytest.raises(VideoInputError, match="at least one frame"):
        ImageProcessor().preprocess_video([])
    with pytest.raises(VideoInputError, match=r"\[T, H, W, C\]"):
        ImageProcessor().preprocess_video(noise(100, 160))  # one image, not a clip


def test_max_side_caps_the_longer_model_input_side_keeping_the_aspect():
    free = ImageProcessor(max_pixels=1024 * 28 * 28)
    capped = free.with_max_side(896)
    assert free.resized_size(2560, 1600) == (1120, 700) and free.max_side is None  # the copy is new
    assert capped.resized_size(2560, 1600) == (896, 560)  # 64 x 40 patches
    assert capped.resized_size(1600, 2560) == (560, 896)  # landscape: the width is the longer side
    assert capped.resized_size(2400, 1080) == (896, 392)
    assert capped.resized_size(448, 196) == free.resized_size(448, 196)  # already within: untouched
    assert capped.num_image_tokens(2560, 1600) == 32 * 20
    assert capped.with_max_side(2000) is capped and capped.with_max_side(None) is capped
    assert capped.with_max_side(448).max_side == 448
    clip = capped.preprocess_video(np.zeros((2, 2560, 1600, 3), np.uint8))
    assert clip.grid_thw.tolist() == [[1, 64, 40]]
    image = capped.preprocess_image(np.zeros((2560, 1600, 3), np.uint8))
    assert image.grid_thw.tolist() == [[1, 64, 40]] and image.pixel_values.shape[0] == 64 * 40
    for bad in (0, 27, 900, 896.0, "896"):
        with pytest.raises(ValueError, match="max_side"):
            ImageProcessor(max_side=bad)
