"""`vlagent model-info DIR|2b`: parameter counts from config arithmetic and image token counts.

Reads only config.json (and preprocessor_config.json when present); never imports torch.
"""

import typer


def model_info(
    model: str = typer.Argument(..., help="An HF-format model directory, or '2b' for Qwen2-VL-2B."),
    image_size: str = typer.Option(None, "--image-size", help="Also count the tokens of a WxH px image."),
    max_pixels: int = typer.Option(None, "--max-pixels", help="Override the processor's max_pixels (px)."),
) -> None:
    """Print parameter counts and, for --image-size, the model-input size and token count."""
    from pathlib import Path

    from vlagent.perception.model.config import (
        QWEN2_VL_2B,
        ConfigError,
        Qwen2VLConfig,
        param_counts,
    )
    from vlagent.perception.processor import ImageProcessor

    overrides = {} if max_pixels is None else {"max_pixels": max_pixels}
    try:
        if model.lower() == "2b":
            config, name = QWEN2_VL_2B, "Qwen2-VL-2B (built-in config)"
            processor = ImageProcessor(**overrides)
        else:
            path = Path(model)
            config, name = Qwen2VLConfig.from_file(path), str(path)
            settings = path / "preprocessor_config.json"
            processor = ImageProcessor.from_config(settings, **overrides) if settings.is_file() else ImageProcessor(**overrides)
    except (ValueError, OSError) as exc:  # ConfigError included: one line at the CLI boundary, naming MODEL
        raise ConfigError(f"MODEL {model}: {exc}") from None
    processor = processor.with_max_side(config.vision.max_input_side)  # as perception.engine.load does

    typer.echo(f"model: {name}")
    counts = param_counts(config)
    labels = {"vision": "vision tower", "merger": "merger", "lm": "LM layers + norm",
              "embeddings": "embeddings", "lm_head": "lm_head", "total": "total"}
    for key, label in labels.items():
        note = " (tied to embeddings)" if key == "lm_head" and config.tie_word_embeddings else ""
        typer.echo(f"  {label:<18}{counts[key]:>15,}{note}")
    if image_size is None:
        return
    try:
        width, height = (int(v) for v in image_size.lower().split("x"))
        h, w = processor.resized_size(height, width)
    except ValueError as exc:
        raise typer.BadParameter(f"expected WxH in px, e.g. 1080x2400 ({exc})", param_hint="--image-size") from exc
    tokens = processor.num_image_tokens(height, width)
    patch = config.vision.patch_size
    typer.echo(f"image {width}x{height} -> model input {w}x{h} px (WxH), grid {w // patch}x{h // patch} patches, "
               f"{tokens} tokens (min_pixels {processor.min_pixels}, max_pixels {processor.max_pixels}"
               + (f", longest side at most {processor.max_side} px: the model's position tables" if processor.max_side else "")
               + ")")
