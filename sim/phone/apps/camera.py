"""Camera (com.android.camera2): a viewfinder, a shutter button that counts photos taken,
and a switch between the back and front camera.
"""

from vlagent.sim.phone import widgets as w
from vlagent.sim.phone.context import Ctx
from vlagent.sim.phone.state import Overlay
from vlagent.sim.phone.view import Box, Label, Oval, View

PACKAGE = "com.android.camera2"


def _rid(name: str) -> str:
    return f"{PACKAGE}:id/{name}"


def build(ctx: Ctx) -> View:
    camera = ctx.state.camera
    x1, y1, x2, y2 = ctx.metrics.content
    controls_h = ctx.dp(140)
    finder = (x1, y1, x2, y2 - controls_h)
    shade = (40, 46, 60) if camera.front else (52, 60, 48)
    fx1, fy1, fx2, fy2 = finder
    scene = [Box(finder, shade), Oval(((fx1 + fx2) // 2 - ctx.dp(90), (fy1 + fy2) // 2 - ctx.dp(90),
                                       (fx1 + fx2) // 2 + ctx.dp(90), (fy1 + fy2) // 2 + ctx.dp(90)), None, (220, 220, 220), 2)]
    viewfinder = View("android.view.TextureView", finder, resource_id=_rid("preview_content"),
                      content_desc="Front camera preview" if camera.front else "Camera preview", paint=scene)
    cy = y2 - controls_h // 2
    r = ctx.dp(36)
    cx = (x1 + x2) // 2

    def shoot() -> None:
        camera.photos += 1

    def flip() -> None:
        camera.front = not camera.front

    shutter = View("android.widget.ImageButton", (cx - r, cy - r, cx + r, cy + r), content_desc="Shutter",
                   resource_id=_rid("shutter_button"), clickable=True, focusable=True, on_tap=shoot,
                   paint=[Oval((cx - r, cy - r, cx + r, cy + r), (245, 245, 245)),
                          Oval((cx - r + ctx.dp(6), cy - r + ctx.dp(6), cx + r - ctx.dp(6), cy + r - ctx.dp(6)), None, (30, 30, 30), 2)])
    s = ctx.dp(24)
    fx = x2 - ctx.dp(72)
    flip_button = View("android.widget.ImageButton", (fx - s, cy - s, fx + s, cy + s), content_desc="Switch camera",
                       resource_id=_rid("camera_switch_button"), clickable=True, focusable=True, on_tap=flip,
                       paint=[Oval((fx - s, cy - s, fx + s, cy + s), (80, 80, 80)),
                              Label(fx, cy, "F" if camera.front else "B", ctx.dp(18), (255, 255, 255), "mm", True)])
    tx = x1 + ctx.dp(72)
    thumb = View("android.widget.ImageView", (tx - s, cy - s, tx + s, cy + s), content_desc=f"{camera.photos} photos",
                 resource_id=_rid("rounded_thumbnail_view"),
                 paint=[Box((tx - s, cy - s, tx + s, cy + s), (90, 90, 90), ctx.dp(8)),
                        Label(tx, cy, str(camera.photos), ctx.dp(16), (255, 255, 255), "mm")])
    bar = View("android.widget.FrameLayout", (x1, y2 - controls_h, x2, y2), resource_id=_rid("bottom_bar"),
               paint=[Box((x1, y2 - controls_h, x2, y2), (16, 16, 16))], children=[thumb, shutter, flip_button])
    return w.window(ctx, [viewfinder, bar], background=(0, 0, 0))


def build_overlay(ctx: Ctx, overlay: Overlay) -> View | None:
    return None
