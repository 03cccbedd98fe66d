"""The screen of an installed app that is not simulated beyond opening: its app bar, its
icon and a short welcome text. "Open the Maps app" tasks only need it to come to front.
"""

from vlagent.sim.phone import widgets as w
from vlagent.sim.phone.apps.catalog import BY_PACKAGE
from vlagent.sim.phone.context import Ctx
from vlagent.sim.phone.icons import app_icon
from vlagent.sim.phone.state import Overlay
from vlagent.sim.phone.view import Bitmap, View


def build(ctx: Ctx) -> View:
    info = BY_PACKAGE[ctx.package]
    x1, y1, x2, _ = ctx.metrics.body
    size = ctx.dp(96)
    cx = (x1 + x2) // 2
    top = y1 + ctx.dp(48)
    icon = app_icon(info.glyph, info.color, size, ctx.state.launcher.icon_shape)
    logo = View("android.widget.ImageView", (cx - size // 2, top, cx + size // 2, top + size), content_desc=info.label,
                resource_id=f"{info.package}:id/logo", paint=[Bitmap(cx - size // 2, top, icon)])
    pad = ctx.dp(24)
    welcome = w.text(ctx, (x1 + pad, top + size + ctx.dp(24), x2 - pad, top + size + ctx.dp(64)), f"Welcome to {info.label}", 22,
                     anchor="mm", rid=f"{info.package}:id/welcome")
    hint = w.text(ctx, (x1 + pad, top + size + ctx.dp(72), x2 - pad, top + size + ctx.dp(104)),
                  "This app is not simulated beyond this screen.", 14, ctx.palette.on_surface_dim, anchor="mm")
    return w.window(ctx, [w.app_bar(ctx, info.label, back=False), logo, welcome, hint])


def build_overlay(ctx: Ctx, overlay: Overlay) -> View | None:
    return None
