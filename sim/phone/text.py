"""Drawing Unicode text with Pillow's built-in font, which has glyphs for ASCII only.

Accented Latin letters are drawn as their ASCII base letter plus the accent drawn with
primitives (from the Unicode NFD decomposition: Zoë -> Zoe + diaeresis, Å -> A + ring), a
few letters and symbols without a decomposition are drawn from a substitution table
(ß -> ss, × -> x, ÷ -> - with dots), and everything else (CJK, emoji) falls back to the
font's box glyph. Written by hand because the project ships no font files; the UI tree
always keeps the exact text, only the pixels approximate it.
"""

import unicodedata
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

# combining mark -> mark name drawn by _draw_mark
_MARKS = {
    "\u0300": "grave", "\u0301": "acute", "\u0302": "circumflex", "\u0303": "tilde", "\u0304": "macron",
    "\u0306": "breve", "\u0307": "dot", "\u0308": "diaeresis", "\u030a": "ring", "\u030b": "acute",
    "\u030c": "caron", "\u0323": "dot_below", "\u0327": "cedilla", "\u0328": "cedilla",
}
# characters with no useful decomposition -> (ASCII base, marks)
_SUBSTITUTES = {
    "ß": ("ss", ()), "æ": ("ae", ()), "Æ": ("AE", ()), "œ": ("oe", ()), "Œ": ("OE", ()),
    "ø": ("o", ("stroke",)), "Ø": ("O", ("stroke",)), "ł": ("l", ("stroke",)), "Ł": ("L", ("stroke",)),
    "đ": ("d", ("stroke",)), "Đ": ("D", ("stroke",)), "ı": ("i", ()), "×": ("x", ()), "−": ("-", ()),
    "÷": ("-", ("dot", "dot_below")), "–": ("-", ()), "—": ("-", ()), "\u00a0": (" ", ()), "⌫": ("DEL", ()),
}


@lru_cache(maxsize=64)
def font(size_px: int) -> ImageFont.FreeTypeFont:
    """Pillow's built-in font at `size_px` device px."""
    return ImageFont.load_default(size=max(1, int(size_px)))


@lru_cache(maxsize=4096)
def _cluster(ch: str) -> tuple[str, tuple[str, ...]]:
    """(drawable base, accent marks) for one character; base == ch when drawn as is."""
    if ch.isascii() or ch in "©«°±´·»‘’“”…‹›⁄™":
        return ch, ()
    if ch in _SUBSTITUTES:
        return _SUBSTITUTES[ch]
    decomposed = unicodedata.normalize("NFD", ch)
    base, marks = decomposed[0], tuple(_MARKS[m] for m in decomposed[1:] if m in _MARKS)
    if base.isascii() and base != ch:
        return base, marks
    return ch, ()


def _segments(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """Split text into drawable runs: plain runs have no marks, an accented letter is alone."""
    out: list[tuple[str, tuple[str, ...]]] = []
    plain = ""
    for ch in text:
        base, marks = _cluster(ch)
        if marks:
            if plain:
                out.append((plain, ()))
                plain = ""
            out.append((base, marks))
        else:
            plain += base
    if plain:
        out.append((plain, ()))
    return out


def measure(text: str, size_px: int) -> float:
    """Advance width of `text` as drawn, in device px."""
    f = font(size_px)
    if text.isascii():
        return f.getlength(text)
    return sum(f.getlength(run) for run, _ in _segments(text))


def _draw_mark(draw: ImageDraw.ImageDraw, mark: str, box: tuple[int, int, int, int], size: int, fill) -> None:
    x1, top, x2, bottom = box
    cx = (x1 + x2) / 2
    s = size
    w = max(1, round(s * 0.07))
    y = top - s * 0.1
    if mark == "diaeresis":
        r = max(1.5, s * 0.05)
        for dx in (-0.13 * s, 0.13 * s):
            draw.ellipse((cx + dx - r, y - r, cx + dx + r, y + r), fill=fill)
    elif mark in ("dot", "dot_below"):
        r = max(1.5, s * 0.055)
        cy = top - s * 0.16 if mark == "dot" else bottom + s * 0.16
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=fill)
    elif mark in ("acute", "grave"):
        sign = 1 if mark == "acute" else -1
        draw.line([(cx - sign * 0.06 * s, y + 0.03 * s), (cx + sign * 0.1 * s, y - 0.12 * s)], fill=fill, width=w)
    elif mark in ("circumflex", "caron"):
        tip = y - 0.13 * s if mark == "circumflex" else y + 0.03 * s
        base = y + 0.03 * s if mark == "circumflex" else y - 0.13 * s
        draw.line([(cx - 0.12 * s, base), (cx, tip), (cx + 0.12 * s, base)], fill=fill, width=w)
    elif mark in ("tilde", "breve", "macron"):
        if mark == "macron":
            draw.line([(cx - 0.13 * s, y - 0.04 * s), (cx + 0.13 * s, y - 0.04 * s)], fill=fill, width=w)
        else:
            points = [(cx - 0.14 * s, y), (cx - 0.05 * s, y - 0.08 * s), (cx + 0.05 * s, y), (cx + 0.14 * s, y - 0.08 * s)]
            draw.line(points if mark == "tilde" else [(cx - 0.12 * s, y - 0.1 * s), (cx, y), (cx + 0.12 * s, y - 0.1 * s)],
                      fill=fill, width=w, joint="curve")
    elif mark == "ring":
        r = s * 0.08
        draw.ellipse((cx - r, y - 1.2 * r, cx + r, y + 0.8 * r), outline=fill, width=w)
    elif mark == "cedilla":
        draw.line([(cx, bottom), (cx + 0.05 * s, bottom + 0.12 * s), (cx - 0.05 * s, bottom + 0.18 * s)], fill=fill, width=w)
    elif mark == "stroke":
        mid = (top + bottom) / 2
        draw.line([(x1, mid + 0.15 * s), (x2, mid - 0.15 * s)], fill=fill, width=w)


@lru_cache(maxsize=1024)
def _mask(run: str, size: int, anchor: str, bold: bool) -> tuple[Image.Image, int, int]:
    """`run` rendered once as an 8-bit coverage mask, with its offset from the anchor point.

    Screens redraw the same labels every frame; pasting a cached mask costs ~20 us where
    rasterising the glyphs again costs ~100 us.
    """
    f = font(size)
    stroke = 1 if bold else 0
    x1, y1, x2, y2 = f.getbbox(run, anchor=anchor, stroke_width=stroke)
    mask = Image.new("L", (max(1, x2 - x1), max(1, y2 - y1)), 0)
    ImageDraw.Draw(mask).text((-x1, -y1), run, font=f, fill=255, anchor=anchor, stroke_width=stroke, stroke_fill=255)
    return mask, x1, y1


def _paste_run(image: Image.Image, x: float, y: float, run: str, size: int, fill, anchor: str, bold: bool) -> None:
    mask, dx, dy = _mask(run, size, anchor, bold)
    image.paste(fill, (int(round(x)) + dx, int(round(y)) + dy), mask)


def draw_text(image: Image.Image, x: float, y: float, text: str, size: int, fill, anchor: str = "lm", bold: bool = False) -> None:
    """Draw `text` on `image` with its `anchor` (Pillow's two letters; horizontal l/m/r) at (x, y) px."""
    if text.isascii():
        _paste_run(image, x, y, text, size, fill, anchor, bold)
        return
    f = font(size)
    segments = _segments(text)
    total = sum(f.getlength(run) for run, _ in segments)
    left = {"l": x, "m": x - total / 2, "r": x - total}[anchor[0]]
    vertical = "l" + anchor[1]
    draw = ImageDraw.Draw(image)
    for run, marks in segments:
        _paste_run(image, left, y, run, size, fill, vertical, bold)
        if marks:
            box = draw.textbbox((round(left), round(y)), run, font=f, anchor=vertical)
            for mark in marks:
                _draw_mark(draw, mark, box, size, fill)
        left += f.getlength(run)
