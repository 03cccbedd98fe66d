"""Our torch Qwen2-VL vs HF transformers 5.24 at Qwen2-VL-2B shapes, random weights (not in CI).

Builds HF's model from `QWEN2_VL_2B.to_dict()`, saves it, runs one prompt with one image,
frees it, loads ours from the same files and runs the same prompt. Peak memory is one fp32
model (~9 GB) plus activations. Prints max |logit diff| and wall times in seconds.

    python bench/model_2b_parity.py [--image 224x224] [--threads 2] [--dir /tmp/qwen2vl-2b-random]
"""

import argparse
import gc
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from vlagent.perception.model import QWEN2_VL_2B, Qwen2VL


def prompt_ids(grid: tuple[int, int, int]) -> list[int]:
    c = QWEN2_VL_2B
    pads = [c.image_token_id] * (int(np.prod(grid)) // c.vision.spatial_merge_size**2)
    head = [151644, 872, 198]  # <|im_start|>user\n
    tail = [74785, 419, 2168, 13, 151645, 198, 151644, 77091, 198]  # arbitrary text ids, <|im_end|>, assistant turn
    return head + [c.vision_start_token_id] + pads + [c.vision_end_token_id] + tail


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default="224x224", help="image size WxH in px (multiples of 28)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dir", type=Path, default=None, help="where to save the random checkpoint")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    width, height = (int(v) for v in args.image.lower().split("x"))
    grid = (1, height // 14, width // 14)
    ids = torch.tensor([prompt_ids(grid)])
    pixels = torch.randn(int(np.prod(grid)), QWEN2_VL_2B.vision.patch_dim, generator=torch.Generator().manual_seed(0))
    grid_t = torch.tensor([grid])
    path = args.dir or Path(tempfile.mkdtemp(prefix="qwen2vl-2b-"))

    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

    t = time.perf_counter()
    torch.manual_seed(0)
    hf = Qwen2VLForConditionalGeneration(Qwen2VLConfig(**QWEN2_VL_2B.to_dict())).eval()
    hf.save_pretrained(path)
    print(f"HF build + save: {time.perf_counter() - t:.1f} s -> {path}")
    with torch.inference_mode():
        t = time.perf_counter()
        ref = hf(input_ids=ids, pixel_values=pixels, image_grid_thw=grid_t,
                 mm_token_type_ids=(ids == QWEN2_VL_2B.image_token_id).long()).logits
        print(f"HF forward ({ids.shape[1]} tokens, {pixels.shape[0]} patches): {time.perf_counter() - t:.2f} s")
    del hf
    gc.collect()

    t = time.perf_counter()
    ours = Qwen2VL.from_pretrained(path)
    print(f"ours load: {time.perf_counter() - t:.1f} s (safetensors are memory-mapped: pages load on first use)")
    with torch.inference_mode():
        for run in ("first, pages in weights", "second"):
            t = time.perf_counter()
            got = ours(ids, pixel_values=pixels, image_grid_thw=grid_t)
            print(f"ours forward ({run}): {time.perf_counter() - t:.2f} s")
    diff = (got - ref).abs().max().item()
    print(f"max |logit diff| {diff:.3e} (logit std {ref.std().item():.3f}); "
          f"argmax equal {bool((got.argmax(-1) == ref.argmax(-1)).all())}; peak RSS {peak_rss_gb():.1f} GB")
    if args.dir is None:
        shutil.rmtree(path)


if __name__ == "__main__":
    main()
