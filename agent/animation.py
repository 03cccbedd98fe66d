"""An animated GIF or WebP of a whole episode: every observed frame with its action drawn on
it, then the final frame. Frames are downscaled to `WIDTH` px; overlays use the report's
colours (tap points, swipe arrows, red for denied actions). Pillow does the encoding.
"""

import io

from vlagent.agent.episode import Episode, load_image

WIDTH = 270
FRAME_MS = 900
_COLORS = {"tap": (255, 0, 255), "denied": (255, 32, 32), "stroke": (255, 176, 0)}


def _draw_action(draw, step: dict, scale: float) -> None:
    action = step.get("action") or {}
    kind = action.get("type")
    denied = (step.get("safety") or {}).get("verdict") == "denied"
    if kind in ("tap", "double_tap", "long_press"):
        x, y = action["x"] * scale, action["y"] * scale
        color = _COLORS["denied"] if denied else _COLORS["tap"]
        draw.ellipse((x - 10, y - 10, x + 10, y + 10), outline=color, width=3)
        draw.ellipse((x - 4, y - 4, x + 4, y + 4), fill=color)
    elif kind in ("swipe", "drag"):
        points = [(action["x1"] * scale, action["y1"] * scale), (action["x2"] * scale, action["y2"] * scale)]
        draw.line(points, fill=_COLORS["stroke"], width=4)
        ex, ey = points[1]
        draw.ellipse((ex - 6, ey - 6, ex + 6, ey + 6), fill=_COLORS["stroke"])


def _caption(draw, text: str, width: int) -> None:
    draw.rectangle((0, 0, width, 16), fill=(0, 0, 0))
    draw.text((4, 2), text[:60], fill=(255, 255, 255))


def episode_animation(episode: Episode, kind: str = "gif") -> tuple[bytes, str]:
    """(bytes, mime type) of the animation; `kind` is "gif" or "webp"."""
    from PIL import Image, ImageDraw

    if kind not in ("gif", "webp"):
        raise ValueError(f"animation kind must be 'gif' or 'webp', got {kind!r}")
    images = []
    paths = [(episode.path / s["frame"], s) for s in episode.steps]
    final = (episode.result or {}).get("final_frame")
    if final and (episode.path / final).is_file():
        paths.append((episode.path / final, None))
    for path, step in paths:
        image = Image.fromarray(load_image(path))
        scale = WIDTH / image.width
        image = image.resize((WIDTH, round(image.height * scale)), Image.Resampling.BILINEAR)
        draw = ImageDraw.Draw(image)
        if step is not None:
            _draw_action(draw, step, scale)
            label = (step.get("action") or {}).get("type") or step.get("event") or ""
            _caption(draw, f"step {step['step']}: {label}", image.width)
        else:
            _caption(draw, "final", image.width)
        images.append(image)
    buffer = io.BytesIO()
    if kind == "gif":
        images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], duration=FRAME_MS, loop=0)
        return buffer.getvalue(), "image/gif"
    images[0].save(buffer, format="WEBP", save_all=True, append_images=images[1:], duration=FRAME_MS, loop=0,
                   quality=80)
    return buffer.getvalue(), "image/webp"
