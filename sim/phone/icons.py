"""Procedural app icons: a themed shape (circle, squircle or rounded square), an app colour
and a glyph drawn with Pillow primitives, supersampled 2x for smooth edges.

Each app in `sim.phone.apps.catalog` names one glyph here; every glyph is distinct so a
vision model can tell apps apart by icon, not only by label. Icons are cached per
(glyph, colour, size, shape): drawing one costs ~1 ms, pasting it ~20 us.
"""

import math
from collections.abc import Callable
from functools import lru_cache

from PIL import Image, ImageDraw

Color = tuple[int, int, int]
_SS = 2  # supersampling factor
_WHITE = (255, 255, 255, 255)


def _box(s: int, a: float, b: float, c: float, d: float) -> tuple[int, int, int, int]:
    return (int(a * s), int(b * s), int(c * s), int(d * s))


def _gear(d: ImageDraw.ImageDraw, s: int, bg: Color) -> None:
    for k in range(8):
        ang = k * math.pi / 4
        cx, cy = 0.5 + 0.27 * math.cos(ang), 0.5 + 0.27 * math.sin(ang)
        d.ellipse(_box(s, cx - 0.08, cy - 0.08, cx + 0.08, cy + 0.08), fill=_WHITE)
    d.ellipse(_box(s, 0.24, 0.24, 0.76, 0.76), fill=_WHITE)
    d.ellipse(_box(s, 0.39, 0.39, 0.61, 0.61), fill=bg)


def _clock(d, s, bg):
    d.ellipse(_box(s, 0.2, 0.2, 0.8, 0.8), fill=_WHITE)
    d.line([_box(s, 0.5, 0.5, 0.5, 0.3)[:2], _box(s, 0.5, 0.3, 0, 0)[:2]], fill=bg, width=max(2, s // 16))
    d.line([_box(s, 0.5, 0.5, 0, 0)[:2], _box(s, 0.64, 0.58, 0, 0)[:2]], fill=bg, width=max(2, s // 16))


def _bubble(d, s, bg):
    d.rounded_rectangle(_box(s, 0.2, 0.24, 0.8, 0.66), radius=s // 8, fill=_WHITE)
    d.polygon([_box(s, 0.3, 0.6, 0, 0)[:2], _box(s, 0.45, 0.6, 0, 0)[:2], _box(s, 0.28, 0.78, 0, 0)[:2]], fill=_WHITE)


def _person(d, s, bg):
    d.ellipse(_box(s, 0.37, 0.2, 0.63, 0.46), fill=_WHITE)
    d.pieslice(_box(s, 0.22, 0.5, 0.78, 0.98), 180, 360, fill=_WHITE)


def _calc(d, s, bg):
    d.rounded_rectangle(_box(s, 0.26, 0.18, 0.74, 0.82), radius=s // 20, fill=_WHITE)
    d.rectangle(_box(s, 0.32, 0.25, 0.68, 0.38), fill=bg)
    for i in range(3):
        for j in range(3):
            x, y = 0.33 + i * 0.12, 0.46 + j * 0.11
            d.rectangle(_box(s, x, y, x + 0.08, y + 0.07), fill=bg)


def _note(d, s, bg):
    d.rounded_rectangle(_box(s, 0.26, 0.2, 0.74, 0.8), radius=s // 24, fill=_WHITE)
    for k in range(4):
        y = 0.33 + k * 0.11
        d.line([_box(s, 0.33, y, 0, 0)[:2], _box(s, 0.67, y, 0, 0)[:2]], fill=bg, width=max(2, s // 30))


def _camera(d, s, bg):
    d.rounded_rectangle(_box(s, 0.18, 0.32, 0.82, 0.74), radius=s // 16, fill=_WHITE)
    d.rectangle(_box(s, 0.38, 0.25, 0.6, 0.34), fill=_WHITE)
    d.ellipse(_box(s, 0.38, 0.4, 0.62, 0.64), fill=bg)
    d.ellipse(_box(s, 0.44, 0.46, 0.56, 0.58), fill=_WHITE)


def _bag(d, s, bg):
    d.rounded_rectangle(_box(s, 0.24, 0.36, 0.76, 0.8), radius=s // 24, fill=_WHITE)
    d.arc(_box(s, 0.36, 0.2, 0.64, 0.5), 180, 360, fill=_WHITE, width=max(2, s // 18))


def _globe(d, s, bg):
    d.ellipse(_box(s, 0.2, 0.2, 0.8, 0.8), fill=_WHITE)
    w = max(2, s // 36)
    d.ellipse(_box(s, 0.38, 0.21, 0.62, 0.79), outline=bg, width=w)
    d.line([_box(s, 0.21, 0.5, 0, 0)[:2], _box(s, 0.79, 0.5, 0, 0)[:2]], fill=bg, width=w)


def _calendar(d, s, bg):
    d.rounded_rectangle(_box(s, 0.22, 0.24, 0.78, 0.8), radius=s // 20, fill=_WHITE)
    d.rectangle(_box(s, 0.22, 0.24, 0.78, 0.38), fill=(*(int(c * 0.7) for c in bg[:3]), 255))
    d.text(_box(s, 0.5, 0.6, 0, 0)[:2], "31", fill=bg, anchor="mm", font_size=int(0.26 * s))


def _pin(d, s, bg):
    d.ellipse(_box(s, 0.3, 0.16, 0.7, 0.56), fill=_WHITE)
    d.polygon([_box(s, 0.32, 0.44, 0, 0)[:2], _box(s, 0.68, 0.44, 0, 0)[:2], _box(s, 0.5, 0.84, 0, 0)[:2]], fill=_WHITE)
    d.ellipse(_box(s, 0.42, 0.28, 0.58, 0.44), fill=bg)


def _folder(d, s, bg):
    d.rounded_rectangle(_box(s, 0.18, 0.28, 0.46, 0.4), radius=s // 30, fill=_WHITE)
    d.rounded_rectangle(_box(s, 0.18, 0.34, 0.82, 0.76), radius=s // 24, fill=_WHITE)


def _photo(d, s, bg):
    d.rounded_rectangle(_box(s, 0.2, 0.24, 0.8, 0.76), radius=s // 24, fill=_WHITE)
    d.polygon([_box(s, 0.24, 0.72, 0, 0)[:2], _box(s, 0.44, 0.44, 0, 0)[:2], _box(s, 0.6, 0.72, 0, 0)[:2]], fill=bg)
    d.ellipse(_box(s, 0.6, 0.32, 0.72, 0.44), fill=bg)


def _handset(d, s, bg):
    d.rounded_rectangle(_box(s, 0.24, 0.2, 0.42, 0.38), radius=s // 20, fill=_WHITE)
    d.rounded_rectangle(_box(s, 0.58, 0.62, 0.8, 0.8), radius=s // 20, fill=_WHITE)
    d.line([_box(s, 0.33, 0.3, 0, 0)[:2], _box(s, 0.7, 0.7, 0, 0)[:2]], fill=_WHITE, width=max(2, s // 8))


def _envelope(d, s, bg):
    d.rectangle(_box(s, 0.2, 0.3, 0.8, 0.72), fill=_WHITE)
    d.line([_box(s, 0.2, 0.3, 0, 0)[:2], _box(s, 0.5, 0.55, 0, 0)[:2], _box(s, 0.8, 0.3, 0, 0)[:2]], fill=bg, width=max(2, s // 24))


def _music(d, s, bg):
    d.ellipse(_box(s, 0.24, 0.6, 0.44, 0.78), fill=_WHITE)
    d.rectangle(_box(s, 0.39, 0.22, 0.44, 0.7), fill=_WHITE)
    d.polygon([_box(s, 0.42, 0.22, 0, 0)[:2], _box(s, 0.74, 0.3, 0, 0)[:2], _box(s, 0.74, 0.4, 0, 0)[:2], _box(s, 0.42, 0.34, 0, 0)[:2]], fill=_WHITE)


def _sun(d, s, bg):
    d.ellipse(_box(s, 0.22, 0.22, 0.58, 0.58), fill=(255, 214, 64, 255))
    d.ellipse(_box(s, 0.36, 0.44, 0.66, 0.74), fill=_WHITE)
    d.ellipse(_box(s, 0.5, 0.38, 0.82, 0.7), fill=_WHITE)
    d.rectangle(_box(s, 0.5, 0.58, 0.74, 0.74), fill=_WHITE)


def _triangle_store(d, s, bg):
    d.polygon([_box(s, 0.3, 0.2, 0, 0)[:2], _box(s, 0.78, 0.5, 0, 0)[:2], _box(s, 0.3, 0.8, 0, 0)[:2]], fill=_WHITE)
    d.line([_box(s, 0.3, 0.5, 0, 0)[:2], _box(s, 0.78, 0.5, 0, 0)[:2]], fill=bg, width=max(2, s // 30))


def _play(d, s, bg):
    d.rounded_rectangle(_box(s, 0.18, 0.28, 0.82, 0.72), radius=s // 10, fill=_WHITE)
    d.polygon([_box(s, 0.44, 0.38, 0, 0)[:2], _box(s, 0.62, 0.5, 0, 0)[:2], _box(s, 0.44, 0.62, 0, 0)[:2]], fill=bg)


def _mic(d, s, bg):
    d.rounded_rectangle(_box(s, 0.4, 0.18, 0.6, 0.58), radius=s // 10, fill=_WHITE)
    d.arc(_box(s, 0.3, 0.36, 0.7, 0.68), 0, 180, fill=_WHITE, width=max(2, s // 24))
    d.rectangle(_box(s, 0.48, 0.66, 0.52, 0.8), fill=_WHITE)


def _translate(d, s, bg):
    d.rounded_rectangle(_box(s, 0.16, 0.2, 0.58, 0.62), radius=s // 20, fill=_WHITE)
    d.text(_box(s, 0.37, 0.41, 0, 0)[:2], "A", fill=bg, anchor="mm", font_size=int(0.3 * s))
    d.rounded_rectangle(_box(s, 0.44, 0.44, 0.84, 0.82), radius=s // 20, outline=_WHITE, width=max(2, s // 30))


def _heart(d, s, bg):
    d.ellipse(_box(s, 0.2, 0.26, 0.52, 0.56), fill=_WHITE)
    d.ellipse(_box(s, 0.48, 0.26, 0.8, 0.56), fill=_WHITE)
    d.polygon([_box(s, 0.22, 0.48, 0, 0)[:2], _box(s, 0.78, 0.48, 0, 0)[:2], _box(s, 0.5, 0.8, 0, 0)[:2]], fill=_WHITE)


def _wallet(d, s, bg):
    d.rounded_rectangle(_box(s, 0.18, 0.3, 0.82, 0.74), radius=s // 16, fill=_WHITE)
    d.rectangle(_box(s, 0.18, 0.4, 0.82, 0.48), fill=bg)
    d.rectangle(_box(s, 0.26, 0.58, 0.44, 0.64), fill=bg)


def _podcast(d, s, bg):
    w = max(2, s // 22)
    d.ellipse(_box(s, 0.43, 0.4, 0.57, 0.54), fill=_WHITE)
    d.arc(_box(s, 0.32, 0.29, 0.68, 0.65), 200, 340, fill=_WHITE, width=w)
    d.arc(_box(s, 0.2, 0.17, 0.8, 0.77), 200, 340, fill=_WHITE, width=w)
    d.rectangle(_box(s, 0.47, 0.56, 0.53, 0.82), fill=_WHITE)


GLYPH_DRAWERS: dict[str, Callable[[ImageDraw.ImageDraw, int, tuple], None]] = {
    "gear": _gear, "clock": _clock, "bubble": _bubble, "person": _person, "calc": _calc,
    "note": _note, "camera": _camera, "bag": _bag, "globe": _globe, "calendar": _calendar,
    "pin": _pin, "folder": _folder, "photo": _photo, "handset": _handset, "envelope": _envelope,
    "music": _music, "sun": _sun, "store": _triangle_store, "play": _play, "mic": _mic,
    "translate": _translate, "heart": _heart, "wallet": _wallet, "podcast": _podcast,
}


@lru_cache(maxsize=256)
def app_icon(glyph: str, color: Color, size: int, shape: str) -> Image.Image:
    """An RGBA icon `size` x `size` device px; transparent outside the shape."""
    if glyph not in GLYPH_DRAWERS:
        raise KeyError(f"no icon glyph named {glyph!r}; known: {sorted(GLYPH_DRAWERS)}")
    s = size * _SS
    art = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    draw = ImageDraw.Draw(art)
    fill = (*color, 255)
    if shape == "circle":
        draw.ellipse((0, 0, s - 1, s - 1), fill=fill)
    elif shape == "squircle":
        draw.rounded_rectangle((0, 0, s - 1, s - 1), radius=int(s * 0.36), fill=fill)
    else:
        draw.rounded_rectangle((0, 0, s - 1, s - 1), radius=int(s * 0.18), fill=fill)
    GLYPH_DRAWERS[glyph](draw, s, fill)
    return art.resize((size, size), Image.Resampling.LANCZOS)
