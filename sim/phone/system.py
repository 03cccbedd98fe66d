"""System UI (com.android.systemui): the status bar (clock, Wi-Fi, Bluetooth, airplane and
battery indicators) and the three-button navigation bar (Back, Home, Overview).
"""

from collections.abc import Callable

from vlagent.sim.phone import glyphs
from vlagent.sim.phone.apps.catalog import SYSTEMUI_PACKAGE
from vlagent.sim.phone.state import PhoneState
from vlagent.sim.phone.theme import Metrics, Palette
from vlagent.sim.phone.view import Box, Label, View


def _rid(name: str) -> str:
    return f"{SYSTEMUI_PACKAGE}:id/{name}"


def status_bar(state: PhoneState, metrics: Metrics, palette: Palette, over_wallpaper: bool) -> View:
    """The status bar; transparent with white content over the home wallpaper."""
    rect = metrics.status_bar
    x1, y1, x2, y2 = rect
    fg = (255, 255, 255) if over_wallpaper else palette.on_bar
    pad = metrics.dp(16)
    minutes = state.minutes_since_midnight
    clock_text = f"{minutes // 60}:{minutes % 60:02d}"
    size = metrics.dp(14)
    kids = [View("android.widget.TextView", (x1 + pad, y1, x1 + pad + metrics.dp(56), y2), text=clock_text, resource_id=_rid("clock"),
                 paint=[Label(x1 + pad, (y1 + y2) // 2, clock_text, size, fg)])]
    s = metrics.dp(16)
    right = x2 - pad
    cy = (y1 + y2) // 2
    settings = state.settings
    indicators = [("battery", f"Battery {settings.battery_percent} percent",
                   lambda r: glyphs.battery(r, fg, settings.battery_percent))]
    if settings.wifi:
        indicators.append(("wifi_signal", "Wi-Fi signal full", lambda r: glyphs.wifi(r, fg)))
    if settings.bluetooth:
        indicators.append(("bluetooth", "Bluetooth on", lambda r: glyphs.bluetooth(r, fg)))
    if settings.airplane_mode:
        indicators.append(("airplane", "Airplane mode", lambda r: glyphs.airplane(r, fg)))
    for rid, desc, draw in indicators:
        box = (right - s, cy - s // 2, right, cy + s // 2)
        kids.append(View("android.widget.ImageView", box, content_desc=desc, resource_id=_rid(rid), paint=draw(box)))
        right -= s + metrics.dp(6)
    paint = [] if over_wallpaper else [Box(rect, palette.bar)]
    return View("android.widget.FrameLayout", rect, package=SYSTEMUI_PACKAGE, resource_id=_rid("status_bar"),
                paint=paint, children=kids)


def nav_bar(metrics: Metrics, palette: Palette, over_wallpaper: bool, on_back: Callable[[], None],
            on_home: Callable[[], None], on_recents: Callable[[], None]) -> View:
    """The navigation bar with Back, Home and Overview buttons, spread across its width."""
    rect = metrics.nav_bar
    x1, y1, x2, y2 = rect
    fg = (255, 255, 255) if over_wallpaper else palette.on_bar
    size = metrics.dp(48)
    cy = (y1 + y2) // 2
    kids = []
    spacing = min((x2 - x1) // 4, metrics.dp(120))
    cx0 = (x1 + x2) // 2
    for k, (rid, desc, draw, handler) in enumerate((("back", "Back", glyphs.nav_back, on_back),
                                                    ("home", "Home", glyphs.nav_home, on_home),
                                                    ("recent_apps", "Overview", glyphs.nav_recents, on_recents))):
        cx = cx0 + (k - 1) * spacing
        box = (cx - size // 2, cy - size // 2, cx + size // 2, cy + size // 2)
        kids.append(View("android.widget.ImageView", box, content_desc=desc, resource_id=_rid(rid), clickable=True,
                         long_clickable=False, focusable=True, on_tap=handler, paint=draw(box, fg)))
    paint = [] if over_wallpaper else [Box(rect, palette.bar)]
    return View("android.widget.FrameLayout", rect, package=SYSTEMUI_PACKAGE, resource_id=_rid("navigation_bar_frame"),
                paint=paint, children=kids)
