"""Small vector symbols (back arrow, plus, send, ...) as paint ops inside a square.

Each function takes the square (device px, x2/y2 exclusive) and a colour and returns
ops that stay inside it, so a button's drawing never leaves the button's bounds.
"""

from collections.abc import Callable

from vlagent.sim.phone.view import Box, Color, Lines, Oval, PaintOp, Poly, Rect


def _grid(rect: Rect) -> Callable[[float, float], tuple[int, int]]:
    """Map unit coordinates (0..1) inside `rect` to device px."""
    x1, y1, x2, y2 = rect
    w, h = x2 - x1 - 1, y2 - y1 - 1
    return lambda u, v: (int(round(x1 + u * w)), int(round(y1 + v * h)))


def _stroke(rect: Rect) -> int:
    return max(2, (rect[2] - rect[0]) // 10)


def arrow_back(rect: Rect, color: Color) -> list[PaintOp]:
    p, s = _grid(rect), _stroke(rect)
    return [Lines((p(0.8, 0.5), p(0.22, 0.5)), color, s), Lines((p(0.5, 0.22), p(0.22, 0.5), p(0.5, 0.78)), color, s)]


def plus(rect: Rect, color: Color) -> list[PaintOp]:
    p, s = _grid(rect), _stroke(rect)
    return [Lines((p(0.5, 0.2), p(0.5, 0.8)), color, s), Lines((p(0.2, 0.5), p(0.8, 0.5)), color, s)]


def check(rect: Rect, color: Color) -> list[PaintOp]:
    p, s = _grid(rect), _stroke(rect)
    return [Lines((p(0.2, 0.52), p(0.42, 0.74), p(0.82, 0.3)), color, s)]


def close(rect: Rect, color: Color) -> list[PaintOp]:
    p, s = _grid(rect), _stroke(rect)
    return [Lines((p(0.25, 0.25), p(0.75, 0.75)), color, s), Lines((p(0.75, 0.25), p(0.25, 0.75)), color, s)]


def send(rect: Rect, color: Color) -> list[PaintOp]:
    p = _grid(rect)
    return [Poly((p(0.15, 0.18), p(0.88, 0.5), p(0.15, 0.82), p(0.25, 0.5)), color)]


def search(rect: Rect, color: Color) -> list[PaintOp]:
    p, s = _grid(rect), _stroke(rect)
    a, b = p(0.18, 0.18), p(0.62, 0.62)
    return [Oval((a[0], a[1], b[0], b[1]), None, color, s), Lines((p(0.58, 0.58), p(0.84, 0.84)), color, s)]


def cart(rect: Rect, color: Color) -> list[PaintOp]:
    p, s = _grid(rect), _stroke(rect)
    w1, w2 = p(0.3, 0.78), p(0.72, 0.78)
    r = max(2, s)
    return [
        Lines((p(0.1, 0.2), p(0.25, 0.2), p(0.35, 0.62), p(0.8, 0.62), p(0.88, 0.32), p(0.28, 0.32)), color, s),
        Oval((w1[0] - r, w1[1] - r, w1[0] + r, w1[1] + r), color),
        Oval((w2[0] - r, w2[1] - r, w2[0] + r, w2[1] + r), color),
    ]


def more_vert(rect: Rect, color: Color) -> list[PaintOp]:
    p = _grid(rect)
    r = max(2, (rect[2] - rect[0]) // 14)
    ops: list[PaintOp] = []
    for v in (0.25, 0.5, 0.75):
        cx, cy = p(0.5, v)
        ops.append(Oval((cx - r, cy - r, cx + r, cy + r), color))
    return ops


def nav_back(rect: Rect, color: Color) -> list[PaintOp]:
    p = _grid(rect)
    return [Poly((p(0.68, 0.25), p(0.68, 0.75), p(0.3, 0.5)), color)]


def nav_home(rect: Rect, color: Color) -> list[PaintOp]:
    a, b = _grid(rect)(0.3, 0.3), _grid(rect)(0.7, 0.7)
    return [Oval((a[0], a[1], b[0], b[1]), None, color, _stroke(rect))]


def nav_recents(rect: Rect, color: Color) -> list[PaintOp]:
    a, b = _grid(rect)(0.32, 0.32), _grid(rect)(0.68, 0.68)
    return [Box((a[0], a[1], b[0], b[1]), None, 2, color, _stroke(rect))]


def wifi(rect: Rect, color: Color) -> list[PaintOp]:
    p = _grid(rect)
    return [Poly((p(0.02, 0.3), p(0.5, 0.9), p(0.98, 0.3), p(0.5, 0.1)), color)]


def bluetooth(rect: Rect, color: Color) -> list[PaintOp]:
    p, s = _grid(rect), max(2, _stroke(rect) // 2)
    return [Lines((p(0.25, 0.3), p(0.72, 0.68), p(0.5, 0.88), p(0.5, 0.12), p(0.72, 0.32), p(0.25, 0.7)), color, s)]


def airplane(rect: Rect, color: Color) -> list[PaintOp]:
    p = _grid(rect)
    return [
        Poly((p(0.45, 0.05), p(0.55, 0.05), p(0.58, 0.9), p(0.42, 0.9)), color),
        Poly((p(0.05, 0.55), p(0.5, 0.35), p(0.95, 0.55), p(0.95, 0.62), p(0.05, 0.62)), color),
    ]


def battery(rect: Rect, color: Color, percent: int) -> list[PaintOp]:
    p = _grid(rect)
    a, b = p(0.3, 0.12), p(0.7, 0.95)
    top = int(round(b[1] - (b[1] - a[1]) * max(0, min(100, percent)) / 100))
    return [Box((a[0], a[1], b[0] + 1, b[1] + 1), None, 2, color, 2), Box((a[0], top, b[0] + 1, b[1] + 1), color)]


def trash(rect: Rect, color: Color) -> list[PaintOp]:
    p, s = _grid(rect), _stroke(rect)
    a, b = p(0.28, 0.3), p(0.72, 0.85)
    return [Lines((p(0.2, 0.25), p(0.8, 0.25)), color, s), Box((a[0], a[1], b[0], b[1]), None, 2, color, s)]


GLYPHS: dict[str, Callable[[Rect, Color], list[PaintOp]]] = {
    "back": arrow_back, "plus": plus, "check": check, "close": close, "send": send,
    "search": search, "cart": cart, "more": more_vert, "trash": trash,
}
