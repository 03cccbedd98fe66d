"""The home screen (com.android.launcher3): a seeded wallpaper, a date line and a grid of
every installed app (order, column count and icon shape drawn from the seed), a long-press
menu on icons, and the recent-apps screen that the app_switch key opens.
"""

import math

from vlagent.sim.phone import widgets as w
from vlagent.sim.phone.apps.catalog import APPS, BY_PACKAGE, LAUNCHER_PACKAGE
from vlagent.sim.phone.context import Ctx, launch, push
from vlagent.sim.phone.icons import app_icon
from vlagent.sim.phone.state import Overlay
from vlagent.sim.phone.theme import ellipsize
from vlagent.sim.phone.view import Bitmap, Box, Label, View

_SHADOW = (20, 20, 20)
_LABEL = (255, 255, 255)


def _rid(name: str) -> str:
    return f"{LAUNCHER_PACKAGE}:id/{name}"


def grid_shape(ctx: Ctx) -> tuple[int, int]:
    """(columns, rows) of the app grid for this screen."""
    columns = 8 if ctx.metrics.landscape else ctx.state.launcher.columns
    return columns, math.ceil(len(APPS) / columns)


def _icon(ctx: Ctx, rect, package: str) -> View:
    info = BY_PACKAGE[package]
    x1, y1, x2, y2 = rect
    label_sp = 12
    label_h = ctx.dp(label_sp * 1.6)
    size = max(ctx.dp(24), min(ctx.dp(56), y2 - y1 - label_h - ctx.dp(8), x2 - x1 - ctx.dp(8)))
    ix, iy = (x1 + x2 - size) // 2, y1 + (y2 - y1 - size - label_h) // 2
    font_px = ctx.dp(label_sp)
    label = ellipsize(info.label, font_px, x2 - x1 - ctx.dp(6))
    cx, ly = (x1 + x2) // 2, iy + size + label_h // 2
    ops = [Bitmap(ix, iy, app_icon(info.glyph, info.color, size, ctx.state.launcher.icon_shape)),
           Label(cx + 2, ly + 2, label, font_px, _SHADOW, "mm"), Label(cx, ly, label, font_px, _LABEL, "mm")]

    def menu(x: int, y: int) -> None:
        ctx.open_overlay("menu", f"launcher:{package}", x, y)

    return View("android.widget.TextView", rect, text=info.label, content_desc=info.label, resource_id=_rid("icon"),
                clickable=True, long_clickable=True, focusable=True, on_tap=lambda: launch(ctx.state, package),
                on_long_press=menu, paint=ops)


def build_home(ctx: Ctx, wallpaper) -> View:
    """The home screen; `wallpaper` is the full-screen RGB image for this seed and size."""
    m = ctx.metrics
    x1, y1, x2, y2 = m.content
    date_h = ctx.dp(40 if m.landscape else 64)
    date = View("android.widget.TextView", (x1 + ctx.dp(24), y1 + ctx.dp(8), x2 - ctx.dp(24), y1 + ctx.dp(8) + date_h),
                text=ctx.state.date_text, resource_id=_rid("date"),
                paint=[Label(x1 + ctx.dp(26), y1 + ctx.dp(10) + date_h // 2, ctx.state.date_text, ctx.dp(24), _SHADOW),
                       Label(x1 + ctx.dp(24), y1 + ctx.dp(8) + date_h // 2, ctx.state.date_text, ctx.dp(24), _LABEL)])
    columns, rows = grid_shape(ctx)
    top = y1 + ctx.dp(16) + date_h
    cell_w = (x2 - x1 - ctx.dp(16)) // columns
    cell_h = min(ctx.dp(112), (y2 - top - ctx.dp(8)) // rows)
    icons = []
    for i, package in enumerate(ctx.state.launcher.order):
        r, c = divmod(i, columns)
        left = x1 + ctx.dp(8) + c * cell_w
        icons.append(_icon(ctx, (left, top + r * cell_h, left + cell_w, top + (r + 1) * cell_h), package))
    grid = View("android.view.ViewGroup", (x1, top, x2, top + rows * cell_h), resource_id=_rid("workspace"), children=icons)
    return View("android.widget.FrameLayout", m.screen, package=LAUNCHER_PACKAGE, resource_id="android:id/content",
                paint=[Bitmap(0, 0, wallpaper)], children=[date, grid])


def build_recents(ctx: Ctx) -> View:
    """Recent apps as cards (tap reopens) with Clear all."""
    m = ctx.metrics
    x1, y1, x2, y2 = m.content
    recents = [p for p in ctx.state.ui.recents if p in BY_PACKAGE]
    pad = ctx.dp(16)
    kids = [w.text(ctx, (x1 + pad, y1 + pad, x2 - pad, y1 + ctx.dp(56)), "Recent apps", 22, (255, 255, 255), rid=_rid("title"))]

    def card(i: int, rect) -> View:
        info = BY_PACKAGE[recents[i]]
        cx1, cy1, cx2, cy2 = rect
        inner = (cx1 + pad, cy1 + ctx.dp(6), cx2 - pad, cy2 - ctx.dp(6))
        size = ctx.dp(40)
        mid = (inner[1] + inner[3]) // 2
        ops = [Box(inner, (60, 62, 70), ctx.dp(16)),
               Bitmap(inner[0] + pad, mid - size // 2, app_icon(info.glyph, info.color, size, ctx.state.launcher.icon_shape)),
               Label(inner[0] + 2 * pad + size, mid, ellipsize(info.label, ctx.dp(18), inner[2] - inner[0] - 3 * pad - size),
                     ctx.dp(18), (255, 255, 255))]
        return View("android.widget.FrameLayout", inner, text=info.label, content_desc=info.label,
                    resource_id=_rid("task_view"), clickable=True, focusable=True,
                    on_tap=lambda: launch(ctx.state, info.package), paint=ops)

    list_bottom = y2 - ctx.dp(72)
    if recents:
        kids.append(w.scroll_list(ctx, (x1, y1 + ctx.dp(64), x2, list_bottom), "recents", [ctx.dp(88)] * len(recents), card,
                                  rid=_rid("recents_list")))
    else:
        kids.append(w.text(ctx, (x1, y1 + ctx.dp(64), x2, y1 + ctx.dp(160)), "No recent items", 16, (200, 200, 200), anchor="mm",
                           rid=_rid("recents_empty")))

    def clear() -> None:
        ctx.state.ui.recents = []

    bw = ctx.dp(128)
    cx = (x1 + x2) // 2
    kids.append(w.button(ctx, (cx - bw // 2, list_bottom + ctx.dp(12), cx + bw // 2, list_bottom + ctx.dp(56)), "Clear all", clear,
                         rid=_rid("clear_all"), style="tonal"))
    return View("android.widget.FrameLayout", m.screen, package=LAUNCHER_PACKAGE, resource_id=_rid("overview_panel"),
                paint=[Box(m.screen, (32, 33, 38))], children=kids)


def build_overlay(ctx: Ctx, overlay: Overlay) -> View | None:
    if overlay.kind == "menu" and overlay.target.startswith("launcher:"):
        package = overlay.target.split(":", 1)[1]

        def open_app() -> None:
            launch(ctx.state, package)

        def app_info() -> None:
            launch(ctx.state, "com.android.settings")
            push(ctx.state, "com.android.settings", "app_info", package)

        return w.context_menu(ctx, overlay.x, overlay.y, [("Open", open_app), ("App info", app_info)])
    return None
