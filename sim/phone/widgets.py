"""Material-like widgets built as `View`s: text, buttons, switches, list rows, text fields,
app bars, floating action buttons, scrolling lists, dialogs and context menus.

Every widget keeps its paint ops inside its own bounds (device px) and reports Android
class names and resource ids, so the UI tree reads like a real `uiautomator dump`.
"""

from collections.abc import Callable, Sequence

from vlagent.sim.phone import glyphs
from vlagent.sim.phone.context import Ctx
from vlagent.sim.phone.theme import blend, ellipsize, text_width, wrap
from vlagent.sim.phone.view import Box, Color, Label, Lines, Oval, Rect, View

Handler = Callable[[], None]


def text(
    ctx: Ctx, rect: Rect, value: str, sp: float = 16, color: Color | None = None, *, anchor: str = "lm",
    rid: str = "", bold: bool = False, desc: str = "", max_lines: int = 1,
) -> View:
    """A TextView; the drawn text is ellipsized/wrapped to `rect`, the node keeps `value`."""
    size = ctx.dp(sp)
    x1, y1, x2, y2 = rect
    color = color or ctx.palette.on_surface
    pad = ctx.dp(2)
    if max_lines > 1:
        lines = wrap(value, size, x2 - x1 - 2 * pad, max_lines)
        step = int(size * 1.3)
        ops = [Label(x1 + pad, y1 + pad + step * i + step // 2, line, size, color, "lm", bold) for i, line in enumerate(lines)]
    else:
        shown = ellipsize(value, size, x2 - x1 - 2 * pad)
        ax = {"l": x1 + pad, "m": (x1 + x2) // 2, "r": x2 - pad}[anchor[0]]
        ops = [Label(ax, (y1 + y2) // 2, shown, size, color, anchor[0] + "m", bold)]
    return View("android.widget.TextView", rect, text=value, resource_id=rid, content_desc=desc, paint=list(ops))


def icon_button(ctx: Ctx, rect: Rect, glyph: str, desc: str, on_tap: Handler | None, rid: str = "", color: Color | None = None) -> View:
    """An ImageButton drawing a glyph from `glyphs.GLYPHS`, described by `desc`."""
    x1, y1, x2, y2 = rect
    inset = (x2 - x1) // 4
    ops = glyphs.GLYPHS[glyph]((x1 + inset, y1 + inset, x2 - inset, y2 - inset), color or ctx.palette.on_surface)
    return View("android.widget.ImageButton", rect, content_desc=desc, resource_id=rid, clickable=on_tap is not None,
                focusable=True, on_tap=on_tap, paint=ops)


def button(ctx: Ctx, rect: Rect, label: str, on_tap: Handler | None, rid: str = "", style: str = "filled", enabled: bool = True) -> View:
    """A Button; `style` is "filled", "tonal" or "text"."""
    pal = ctx.palette
    fill, fg = {"filled": (pal.accent, pal.on_accent), "tonal": (pal.surface_alt, pal.on_surface), "text": (None, pal.accent)}[style]
    if not enabled:
        fill, fg = (pal.divider if fill else None), pal.on_surface_dim
    x1, y1, x2, y2 = rect
    size = ctx.dp(15)
    ops = [Box(rect, fill, (y2 - y1) // 2)] if fill else [Box(rect, None, (y2 - y1) // 2, pal.divider, 1)]
    ops.append(Label((x1 + x2) // 2, (y1 + y2) // 2, ellipsize(label, size, x2 - x1 - ctx.dp(16)), size, fg, "mm", True))
    return View("android.widget.Button", rect, text=label, resource_id=rid, clickable=enabled and on_tap is not None,
                focusable=True, enabled=enabled, on_tap=on_tap if enabled else None, paint=ops)


def switch(ctx: Ctx, rect: Rect, checked: bool, rid: str = "android:id/switch_widget", on_tap: Handler | None = None, desc: str = "") -> View:
    """A Switch drawn centred in `rect` (52x32 dp track)."""
    pal = ctx.palette
    x1, y1, x2, y2 = rect
    w, h = ctx.dp(52), ctx.dp(32)
    tx, ty = (x1 + x2 - w) // 2, (y1 + y2 - h) // 2
    track = (tx, ty, tx + w, ty + h)
    if checked:
        r = ctx.dp(12)
        cx = tx + w - h // 2
        ops = [Box(track, pal.accent, h // 2), Oval((cx - r, ty + h // 2 - r, cx + r, ty + h // 2 + r), pal.on_accent)]
    else:
        r = ctx.dp(8)
        cx = tx + h // 2
        ops = [Box(track, pal.surface_alt, h // 2, pal.on_surface_dim, ctx.dp(2)),
               Oval((cx - r, ty + h // 2 - r, cx + r, ty + h // 2 + r), pal.on_surface_dim)]
    return View("android.widget.Switch", rect, text="ON" if checked else "OFF", resource_id=rid, content_desc=desc,
                checkable=True, checked=checked, clickable=on_tap is not None, focusable=on_tap is not None,
                on_tap=on_tap, paint=ops)


def radio(ctx: Ctx, rect: Rect, label: str, checked: bool, on_tap: Handler, rid: str = "android:id/text1") -> View:
    """A CheckedTextView row of a single-choice dialog."""
    pal = ctx.palette
    x1, y1, x2, y2 = rect
    r, cx, cy = ctx.dp(10), x1 + ctx.dp(28), (y1 + y2) // 2
    ops = [Oval((cx - r, cy - r, cx + r, cy + r), None, pal.accent if checked else pal.on_surface_dim, ctx.dp(2))]
    if checked:
        ops.append(Oval((cx - r // 2, cy - r // 2, cx + r // 2, cy + r // 2), pal.accent))
    size = ctx.dp(16)
    ops.append(Label(x1 + ctx.dp(56), cy, ellipsize(label, size, x2 - x1 - ctx.dp(64)), size, pal.on_surface))
    return View("android.widget.CheckedTextView", rect, text=label, resource_id=rid, checkable=True, checked=checked,
                clickable=True, focusable=True, on_tap=on_tap, paint=ops)


def row(
    ctx: Ctx, rect: Rect, title: str, summary: str | None = None, *, on_tap: Handler | None = None,
    on_long_press: Callable[[int, int], None] | None = None, checked: bool | None = None, rid: str = "",
    leading: View | None = None, divider: bool = True,
) -> View:
    """A list item: optional leading view, title, optional summary, optional trailing switch.

    With `checked` set the row is checkable and mirrors its switch, like SwitchPreference.
    """
    pal = ctx.palette
    x1, y1, x2, y2 = rect
    pad = ctx.dp(16)
    left = x1 + pad
    kids: list[View] = []
    if leading is not None:
        kids.append(leading)
        left = leading.bounds[2] + pad
    right = x2 - pad - (ctx.dp(60) if checked is not None else 0)
    mid = (y1 + y2) // 2
    if summary is None:
        kids.append(text(ctx, (left, y1 + ctx.dp(8), right, y2 - ctx.dp(8)), title, 16, rid="android:id/title"))
    else:
        kids.append(text(ctx, (left, mid - ctx.dp(24), right, mid), title, 16, rid="android:id/title"))
        kids.append(text(ctx, (left, mid, right, mid + ctx.dp(22)), summary, 14, pal.on_surface_dim, rid="android:id/summary"))
    if checked is not None:
        kids.append(switch(ctx, (x2 - pad - ctx.dp(60), y1, x2 - pad, y2), checked))
    # Rows paint their own surface so every visible sliver of a row shows the row's pixels.
    ops: list = [Box(rect, pal.surface)]
    if divider:
        ops.append(Lines(((x1 + pad, y2 - 1), (x2 - pad, y2 - 1)), pal.divider, 1))
    return View("android.widget.LinearLayout", rect, resource_id=rid, clickable=on_tap is not None,
                long_clickable=on_long_press is not None, focusable=on_tap is not None,
                checkable=checked is not None, checked=bool(checked), on_tap=on_tap,
                on_long_press=on_long_press, paint=ops, children=kids)


def avatar(ctx: Ctx, rect: Rect, name: str, color: Color) -> View:
    """A round initial badge (ImageView) for contacts and conversations."""
    x1, y1, x2, y2 = rect
    initial = (name.strip()[:1] or "?").upper()
    ops = [Oval(rect, color), Label((x1 + x2) // 2, (y1 + y2) // 2, initial, (y2 - y1) // 2, (255, 255, 255), "mm", True)]
    return View("android.widget.ImageView", rect, content_desc=name, paint=ops)


def text_field(
    ctx: Ctx, rect: Rect, name: str, hint: str, *, rid: str = "", on_submit: Handler | None = None,
    lines: int = 1, enabled: bool = True,
) -> View:
    """An EditText bound to the draft `name`; empty, its node text is the hint (as on Android 8+)."""
    pal = ctx.palette
    value = ctx.draft(name)
    focused = ctx.is_focused(name)
    x1, y1, x2, y2 = rect
    size, pad = ctx.dp(16), ctx.dp(14)
    ops = [Box(rect, pal.surface, ctx.dp(6), pal.accent if focused else pal.on_surface_dim, ctx.dp(2) if focused else 1)]
    avail = x2 - x1 - 2 * pad - ctx.dp(4)
    if value:
        if lines > 1:
            shown = wrap(value, size, avail, lines)
        else:
            line = value.replace("\n", " ")
            while line and text_width(line, size) > avail:
                line = line[1:]
            shown = [line if line == value.replace("\n", " ") else "…" + line[1:]]
        step = int(size * 1.35)
        top = (y1 + y2) // 2 - step * len(shown) // 2 if lines == 1 else y1 + pad
        for i, line in enumerate(shown):
            ops.append(Label(x1 + pad, top + step * i + step // 2, line, size, pal.on_surface))
        cursor_x = x1 + pad + int(text_width(shown[-1], size)) + ctx.dp(1)
        cursor_y = top + step * (len(shown) - 1) + step // 2
    else:
        cy = (y1 + y2) // 2 if lines == 1 else y1 + pad + size // 2
        ops.append(Label(x1 + pad, cy, ellipsize(hint, size, avail), size, pal.on_surface_dim))
        cursor_x, cursor_y = x1 + pad, cy
    if focused:
        cursor_x = min(cursor_x, x2 - pad)
        ops.append(Lines(((cursor_x, cursor_y - size // 2), (cursor_x, cursor_y + size // 2)), pal.accent, ctx.dp(2)))

    def on_tap() -> None:
        ctx.focus(name)

    return View("android.widget.EditText", rect, text=value or hint, resource_id=rid, clickable=enabled,
                long_clickable=enabled, focusable=True, focused=focused, enabled=enabled,
                on_tap=on_tap if enabled else None, on_submit=on_submit, text_field=ctx.key(name), multiline=lines > 1,
                paint=ops)


def app_bar(
    ctx: Ctx, title: str, *, back: bool = True, actions: Sequence[tuple[str, str, Handler, str]] = (),
    text_action: tuple[str, Handler, str] | None = None, on_back: Handler | None = None,
) -> View:
    """The top app bar; `actions` are (glyph, description, handler, resource id) icon buttons,
    `text_action` is one (label, handler, resource id) button at the end (e.g. "Save")."""
    pal = ctx.palette
    x1, y1, x2, _ = ctx.metrics.content
    y2 = ctx.metrics.body[1]
    size = ctx.dp(48)
    pad = ctx.dp(4)
    cy = (y1 + y2) // 2
    kids: list[View] = []
    left = x1 + ctx.dp(16)
    if back:
        kids.append(icon_button(ctx, (x1 + pad, cy - size // 2, x1 + pad + size, cy + size // 2), "back", "Navigate up", on_back or ctx.pop))
        left = x1 + pad + size + ctx.dp(12)
    right = x2 - pad
    if text_action is not None:
        label, handler, rid = text_action
        bw = int(text_width(label, ctx.dp(15))) + ctx.dp(40)
        kids.append(button(ctx, (right - ctx.dp(8) - bw, cy - ctx.dp(20), right - ctx.dp(8), cy + ctx.dp(20)), label, handler, rid))
        right -= bw + ctx.dp(16)
    for glyph, desc, handler, rid in reversed(actions):
        kids.append(icon_button(ctx, (right - size, cy - size // 2, right, cy + size // 2), glyph, desc, handler, rid))
        right -= size
    kids.append(text(ctx, (left, y1, right, y2), title, 22, rid=f"{ctx.package}:id/toolbar_title"))
    return View("android.view.ViewGroup", (x1, y1, x2, y2), resource_id=f"{ctx.package}:id/toolbar",
                paint=[Box((x1, y1, x2, y2), pal.bar)], children=kids)


def fab(ctx: Ctx, desc: str, on_tap: Handler, rid: str, label: str | None = None, bottom: int | None = None) -> View:
    """A floating action button at the bottom right (above device-px `bottom`); with `label`, extended."""
    pal = ctx.palette
    _, _, x2, y2 = ctx.metrics.content
    y2 = bottom if bottom is not None else y2
    h = ctx.dp(56)
    w = h if label is None else int(text_width(label, ctx.dp(15))) + ctx.dp(72)
    rect = (x2 - ctx.dp(16) - w, y2 - ctx.dp(16) - h, x2 - ctx.dp(16), y2 - ctx.dp(16))
    ops = [Box(rect, blend(pal.accent, pal.surface, 0.15), ctx.dp(16))]
    icon = (rect[0] + ctx.dp(16), rect[1] + ctx.dp(16), rect[0] + ctx.dp(40), rect[1] + ctx.dp(40))
    ops += glyphs.plus(icon, pal.on_accent)
    if label is not None:
        ops.append(Label(rect[0] + ctx.dp(52), (rect[1] + rect[3]) // 2, label, ctx.dp(15), pal.on_accent, "lm", True))
    return View("android.widget.Button" if label else "android.widget.ImageButton", rect, text=label or "",
                content_desc=desc, resource_id=rid, clickable=True, focusable=True, on_tap=on_tap, paint=ops)


def scroll_list(
    ctx: Ctx, rect: Rect, name: str, heights: Sequence[int], build: Callable[[int, Rect], View],
    rid: str = "", background: Color | None = None, start_at_end: bool = False,
) -> View:
    """A RecyclerView of rows with the given heights (device px), scrolled by UIState.scroll.

    Only rows that intersect the viewport are built. The offset is clamped to the content,
    so scrolling is exact and inertia-free; `start_at_end` shows the last rows until the
    user scrolls (a chat).
    """
    x1, y1, x2, y2 = rect
    key = ctx.key(name)
    total = sum(heights)
    max_offset = max(0, total - (y2 - y1))
    offset = min(max(0, ctx.state.ui.scroll.get(key, max_offset if start_at_end else 0)), max_offset)
    kids: list[View] = []
    y = y1 - offset
    for i, h in enumerate(heights):
        if y + h > y1 and y < y2:
            kids.append(build(i, (x1, y, x2, y + h)))
        y += h
        if y >= y2:
            break
    ops = [Box(rect, background)] if background is not None else []
    return View("androidx.recyclerview.widget.RecyclerView", rect, resource_id=rid, scrollable=max_offset > 0,
                focusable=max_offset > 0, clips=True, scroll_key=key, scroll_offset=offset, scroll_max=max_offset, paint=ops, children=kids)


def dialog(ctx: Ctx, title: str, body: Callable[[Rect], list[View]], body_height: int,
           buttons: Sequence[tuple[str, Handler, str]]) -> View:
    """A centred AlertDialog: title, a body of `body_height` px built into its rect, buttons.

    The body is cut to what fits between the system bars; a long body must scroll itself.
    """
    pal = ctx.palette
    m = ctx.metrics
    w = min(m.width - ctx.dp(48), ctx.dp(360))
    body_height = min(body_height, m.content[3] - m.content[1] - ctx.dp(160))
    h = ctx.dp(72) + body_height + ctx.dp(72)
    x1, y1 = (m.width - w) // 2, max(m.content[1] + ctx.dp(8), (m.height - h) // 2)
    x2, y2 = x1 + w, y1 + h
    pad = ctx.dp(24)
    kids = [text(ctx, (x1 + pad, y1 + ctx.dp(16), x2 - pad, y1 + ctx.dp(64)), title, 22, rid="android:id/alertTitle")]
    kids += body((x1 + ctx.dp(8), y1 + ctx.dp(72), x2 - ctx.dp(8), y1 + ctx.dp(72) + body_height))
    right = x2 - ctx.dp(16)
    for i, (label, handler, rid) in enumerate(reversed(buttons)):
        bw = int(text_width(label, ctx.dp(15))) + ctx.dp(32)
        rect = (right - bw, y2 - ctx.dp(60), right, y2 - ctx.dp(20))
        kids.append(button(ctx, rect, label, handler, rid or f"android:id/button{i + 1}", style="text"))
        right -= bw + ctx.dp(8)
    return View("android.widget.FrameLayout", (x1, y1, x2, y2), resource_id="android:id/content",
                paint=[Box((x1, y1, x2, y2), pal.surface, ctx.dp(28))], children=kids)


def context_menu(ctx: Ctx, x: int, y: int, items: Sequence[tuple[str, Handler]]) -> View:
    """A popup menu anchored at the long-press point (x, y) device px, kept on screen."""
    pal = ctx.palette
    m = ctx.metrics
    item_h = ctx.dp(48)
    w = max(ctx.dp(160), max(int(text_width(label, ctx.dp(16))) for label, _ in items) + ctx.dp(48))
    h = item_h * len(items) + ctx.dp(16)
    left = min(max(m.content[0] + ctx.dp(8), x), m.width - w - ctx.dp(8))
    top = min(max(m.content[1] + ctx.dp(8), y), m.content[3] - h - ctx.dp(8))
    kids = []
    for i, (label, handler) in enumerate(items):
        rect = (left, top + ctx.dp(8) + i * item_h, left + w, top + ctx.dp(8) + (i + 1) * item_h)
        item = text(ctx, (rect[0] + ctx.dp(16), rect[1], rect[2] - ctx.dp(16), rect[3]), label, 16, rid="android:id/title")
        kids.append(View("android.widget.LinearLayout", rect, clickable=True, focusable=True, on_tap=handler, children=[item]))
    bounds = (left, top, left + w, top + h)
    return View("android.widget.ListView", bounds, resource_id="android:id/list",
                paint=[Box(bounds, pal.surface_alt, ctx.dp(8), pal.divider, 1)], children=kids)


def window(ctx: Ctx, children: Sequence[View], background: Color | None = None) -> View:
    """An app's window: the content area between the system bars, with its background."""
    rect = ctx.metrics.content
    return View("android.widget.FrameLayout", rect, package=ctx.package, resource_id="android:id/content",
                paint=[Box(rect, background or ctx.palette.background)], children=list(children))


def page_list(ctx: Ctx, name: str, heights: Sequence[int], build: Callable[[int, Rect], View], rid: str = "") -> View:
    """A scroll_list filling the body below the app bar."""
    return scroll_list(ctx, ctx.metrics.body, name, heights, build, rid=rid)
