"""Seeded home-screen wallpapers: a two-colour gradient with a few soft blobs.

Drawn at 1/8 scale and upsampled bilinearly (smooth and ~5 ms at 1080x2400); callers
cache the result per (seed, size) because the wallpaper never changes during a session.
"""

import random

from PIL import Image, ImageDraw, ImageFilter

_PAIRS = (
    ((33, 47, 97), (118, 70, 150)), ((12, 74, 86), (52, 140, 120)), ((80, 34, 60), (196, 96, 80)),
    ((24, 36, 48), (70, 110, 150)), ((40, 70, 40), (150, 170, 90)), ((60, 40, 110), (220, 140, 170)),
    ((20, 20, 30), (90, 70, 60)), ((10, 60, 120), (90, 180, 220)),
)


def wallpaper(seed: int, width: int, height: int) -> Image.Image:
    """An RGB wallpaper `width` x `height` device px, fully determined by `seed`."""
    rng = random.Random(seed)
    top, bottom = rng.choice(_PAIRS)
    if rng.random() < 0.5:
        top, bottom = bottom, top
    sw, sh = max(2, width // 8), max(2, height // 8)
    small = Image.linear_gradient("L").resize((sw, sh))
    if width > height:
        small = Image.linear_gradient("L").rotate(90, expand=True).resize((sw, sh))
    art = Image.composite(Image.new("RGB", (sw, sh), bottom), Image.new("RGB", (sw, sh), top), small)
    draw = ImageDraw.Draw(art)
    for _ in range(rng.randint(3, 6)):
        r = rng.uniform(0.15, 0.45) * min(sw, sh)
        cx, cy = rng.uniform(0, sw), rng.uniform(0, sh)
        tint = tuple(min(255, int(c * rng.uniform(0.7, 1.4))) for c in rng.choice((top, bottom)))
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=tint)
    art = art.filter(ImageFilter.GaussianBlur(max(1, min(sw, sh) // 12)))
    return art.resize((width, height), Image.Resampling.BILINEAR)
