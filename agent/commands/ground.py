"""`vlagent ground --image IMG --query TEXT`: find one target in an image; print JSON.

Output (one JSON object on stdout): `raw_text` (the model's answer), `label`, `box_norm1000`
[x1, y1, x2, y2] (Qwen2-VL norm-1000, relative to the image), `box_px` and `center_px` (px of
the image as given), `image_size` [width, height] px, `timings_ms` (preprocess, vision,
prefill, decode, model, total), `model`, `backend`. When the answer holds no box, `error`
says why, the boxes are null, and the exit status is 1. Bad input exits with 2.
"""

from pathlib import Path
from typing import Annotated

import typer

from vlagent.agent.commands.common import fail


def _load_image(path: Path):
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"))
    except (OSError, UnidentifiedImageError) as error:
        fail(f"cannot read image {path}: {error}")


def _ms(timings: dict[str, float]) -> dict[str, float]:
    return {k: round(v * 1000, 3) for k, v in timings.items()}


def ground(
    image: Annotated[Path, typer.Option("--image", help="Image file (PNG, JPEG, WebP, ...).")],
    query: Annotated[str, typer.Option("--query", help="What to find, e.g. 'Wi-Fi'.")],
    model: Annotated[Path, typer.Option("--model", help="Package (onnx) or checkpoint (torch); default: the shipped model.")] = None,
    backend: Annotated[str, typer.Option("--backend", help="onnx or torch.")] = "onnx",
    min_pixels: Annotated[int, typer.Option("--min-pixels", help="Smallest model input, px.")] = None,
    max_pixels: Annotated[int, typer.Option("--max-pixels", help="Largest model input, px (28*28 per visual token).")] = None,
) -> None:
    """Ground QUERY in IMAGE with the model: raw text, label, box in norm-1000 and image px, timings."""
    import json

    from vlagent.policies.grounding import GroundingOutputError
    from vlagent.policies.grounding import ground as ground_query
    from vlagent.policies.model_options import load_engine, model_options

    options = {"model": model, "backend": backend, "min_pixels": min_pixels, "max_pixels": max_pixels}
    settings = model_options({k: v for k, v in options.items() if v is not None})
    engine = load_engine(settings)
    pixels = _load_image(image)
    height, width = pixels.shape[:2]
    out = {"query": query, "model": str(settings.model), "backend": settings.backend, "image_size": [width, height]}
    try:
        result = ground_query(engine, pixels, query)
    except GroundingOutputError as error:
        out.update(raw_text=error.raw_text, label=None, box_norm1000=None, box_px=None, center_px=None,
                   timings_ms=_ms(error.timings), error=error.reason)
        typer.echo(json.dumps(out, ensure_ascii=False))
        raise typer.Exit(1) from None
    out.update(raw_text=result.raw_text, label=result.label, box_norm1000=[round(v, 3) for v in result.box_norm],
               box_px=[round(v, 2) for v in result.box_px], center_px=[round(v, 2) for v in result.center_px],
               timings_ms=_ms(result.timings))
    typer.echo(json.dumps(out, ensure_ascii=False))
