"""Screen metrics and colours: density-independent sizes and the light/dark palettes.

`Metrics` turns Android dp/sp into device px for a screen: density = short side / 411.43
(1080 px wide -> 2.625, a 420-dpi phone). Text is measured as `sim.phone.text` draws it.
"""

from dataclasses import dataclass

from vlagent.sim.phone.text import measure
from vlagent.sim.phone.view import Color, Rect

STATUS_BAR_DP = 24
NAV_BAR_DP = 48
APP_BAR_DP = 64


def text_width(text: str, size_px: int) -> float:
    """Advance width of `text` as drawn, in device px at `size_px`."""
    return measure(text, size_px)


def ellipsize(text: str, size_px: int, max_width: float) -> str:
    """`text` cut with "…" to fit `max_width` device px (first line only), as TextView does."""
    line = text.split("\n", 1)[0]
    if text_width(line, size_px) <= max_width and line == text:
        return text
    while line and text_width(line + "…", size_px) > max_width:
        line = line[: max(0, len(line) - max(1, len(line) // 8))]
    return line + "…"


def wrap(text: str, size_px: int, max_width: float, max_lines: int = 6) -> list[str]:
    """Greedy word wrap of `text` into lines of at most `max_width` device px."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        current = ""
        for word in paragraph.split(" "):
            candidate = f"{current} {word}" if current else word
            if text_width(candidate, size_px) <= max_width or not current:
                current = candidate
            else:
                lines.append(current)
                current = word
        lines.append(current)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = ellipsize(lines[-1] + " …", size_px, max_width)
    return [ellipsize(line, size_px, max_width) for line in lines]


@dataclass(frozen=True)
class Palette:
    background: Color
    surface: Color
    surface_alt: Color
    on_surface: Color
    on_surface_dim: Color
    divider: Color
    accent: Color
    on_accent: Color
    bar: Color
    on_bar: Color
    scrim: Color


LIGHT = Palette(
    background=(250, 249, 253), surface=(255, 255, 255), surface_alt=(236, 238, 245),
    on_surface=(28, 27, 31), on_surface_dim=(96, 96, 106), divider=(220, 220, 228),
    accent=(26, 115, 232), on_accent=(255, 255, 255), bar=(240, 242, 248), on_bar=(28, 27, 31),
    scrim=(0, 0, 0),
)
DARK = Palette(
    background=(18, 18, 22), surface=(32, 33, 38), surface_alt=(48, 50, 58),
    on_surface=(232, 232, 238), on_surface_dim=(160, 160, 172), divider=(64, 64, 74),
    accent=(138, 180, 248), on_accent=(16, 28, 48), bar=(26, 26, 30), on_bar=(232, 232, 238),
    scrim=(0, 0, 0),
)


@dataclass(frozen=True)
class Metrics:
    """Sizes of one screen in device px. `width`/`height` are the current (rotated) size."""

    width: int
    height: int

    @property
    def density(self) -> float:
        return min(self.width, self.height) / 411.43

    def dp(self, value: float) -> int:
        """Density-independent px -> device px, rounded."""
        return int(round(value * self.density))

    @property
    def landscape(self) -> bool:
        return self.width > self.height

    @property
    def screen(self) -> Rect:
        return (0, 0, self.width, self.height)

    @property
    def status_bar(self) -> Rect:
        return (0, 0, self.width, self.dp(STATUS_BAR_DP))

    @property
    def nav_bar(self) -> Rect:
        return (0, self.height - self.dp(NAV_BAR_DP), self.width, self.height)

    @property
    def content(self) -> Rect:
        """The app window between the status bar and the navigation bar."""
        return (0, self.status_bar[3], self.width, self.nav_bar[1])

    @property
    def body(self) -> Rect:
        """The content below an app bar."""
        x1, y1, x2, y2 = self.content
        return (x1, y1 + self.dp(APP_BAR_DP), x2, y2)


def blend(a: Color, b: Color, t: float) -> Color:
    """Linear mix of two colours, t=0 -> a, t=1 -> b."""
    return tuple(int(round(a[i] + (b[i] - a[i]) * t)) for i in range(3))  # type: ignore[return-value]
