"""Clock (com.google.android.deskclock): alarms you can add (a time dialog with Hour, Minute
and Label fields), switch on/off, and delete from a long-press menu; static Clock, Timer
and Stopwatch tabs. Times are 24-hour and shown as "7:30" / "19:05".
"""

from vlagent.sim.phone import widgets as w
from vlagent.sim.phone.context import Ctx
from vlagent.sim.phone.state import Alarm, Overlay
from vlagent.sim.phone.theme import blend
from vlagent.sim.phone.view import Box, View

PACKAGE = "com.google.android.deskclock"
TABS = (("alarm", "Alarm"), ("clock", "Clock"), ("timer", "Timer"), ("stopwatch", "Stopwatch"))


def _rid(name: str) -> str:
    return f"{PACKAGE}:id/{name}"


def _tab_bar(ctx: Ctx) -> View:
    x1, _, x2, y2 = ctx.metrics.content
    top = y2 - ctx.dp(80)
    width = (x2 - x1) // len(TABS)
    kids = []
    for i, (key, label) in enumerate(TABS):
        rect = (x1 + i * width, top, x1 + (i + 1) * width, y2)
        selected = ctx.state.clock.tab == key
        color = ctx.palette.accent if selected else ctx.palette.on_surface_dim
        tab = w.text(ctx, rect, label, 14, color, anchor="mm", rid=_rid("tab_" + key), bold=selected)
        tab.clickable, tab.focusable, tab.selected, tab.content_desc = True, True, selected, label

        def select(key: str = key) -> None:
            ctx.state.clock.tab = key

        tab.on_tap = select
        kids.append(tab)
    return View("android.widget.LinearLayout", (x1, top, x2, y2), resource_id=_rid("tabs"),
                paint=[Box((x1, top, x2, y2), ctx.palette.bar)], children=kids)


def _alarm_card(ctx: Ctx, rect, alarm: Alarm) -> View:
    pal = ctx.palette
    x1, y1, x2, y2 = rect
    pad = ctx.dp(16)
    card = (x1 + pad, y1 + ctx.dp(6), x2 - pad, y2 - ctx.dp(6))
    left, right = card[0] + pad, card[2] - pad - ctx.dp(64)
    color = pal.on_surface if alarm.enabled else pal.on_surface_dim
    kids = [w.text(ctx, (left, card[1] + ctx.dp(8), right, card[1] + ctx.dp(64)), alarm.time_text, 40, color, rid=_rid("digital_clock"))]
    summary = alarm.label or ("Scheduled" if alarm.enabled else "Not scheduled")
    kids.append(w.text(ctx, (left, card[1] + ctx.dp(64), right, card[3] - ctx.dp(8)), summary, 14, pal.on_surface_dim,
                       rid=_rid("edit_label" if alarm.label else "upcoming_instance_label")))

    def toggle() -> None:
        alarm.enabled = not alarm.enabled

    kids.append(w.switch(ctx, (card[2] - pad - ctx.dp(60), card[1], card[2] - pad, card[3]), alarm.enabled,
                         rid=_rid("onoff"), on_tap=toggle, desc=f"{alarm.time_text} alarm"))

    def menu(x: int, y: int) -> None:
        ctx.open_overlay("menu", f"alarm:{alarm.id}", x, y)

    return View("android.view.ViewGroup", card, resource_id=_rid("alarm_item"), long_clickable=True,
                on_long_press=menu, content_desc=f"Alarm {alarm.time_text}",
                paint=[Box(card, blend(pal.surface_alt, pal.accent, 0.06), ctx.dp(20))], children=kids)


def _alarms(ctx: Ctx) -> list[View]:
    x1, y1, x2, _ = ctx.metrics.body
    bottom = ctx.metrics.content[3] - ctx.dp(80)
    alarms = sorted(ctx.state.clock.alarms, key=lambda a: (a.hour, a.minute, a.id))
    if not alarms:
        empty = w.text(ctx, (x1, y1, x2, y1 + ctx.dp(120)), "No alarms", 18, ctx.palette.on_surface_dim, anchor="mm",
                       rid=_rid("alarms_empty_view"))
        return [empty]
    lst = w.scroll_list(ctx, (x1, y1, x2, bottom), "alarms", [ctx.dp(116)] * len(alarms),
                        lambda i, rect: _alarm_card(ctx, rect, alarms[i]), rid=_rid("alarm_recycler_view"))
    return [lst]


def _static(ctx: Ctx, big: str, small: str) -> list[View]:
    x1, y1, x2, _ = ctx.metrics.body
    return [w.text(ctx, (x1, y1 + ctx.dp(40), x2, y1 + ctx.dp(140)), big, 56, anchor="mm", rid=_rid("digital_clock")),
            w.text(ctx, (x1, y1 + ctx.dp(140), x2, y1 + ctx.dp(180)), small, 16, ctx.palette.on_surface_dim, anchor="mm")]


def build(ctx: Ctx) -> View:
    tab = ctx.state.clock.tab
    title = dict(TABS)[tab]
    kids: list[View] = [w.app_bar(ctx, title, back=False)]
    if tab == "alarm":
        kids += _alarms(ctx)
        kids.append(w.fab(ctx, "Add alarm", lambda: ctx.open_overlay("new_alarm"), _rid("fab"),
                          bottom=ctx.metrics.content[3] - ctx.dp(80)))
    elif tab == "clock":
        minutes = ctx.state.minutes_since_midnight
        kids += _static(ctx, f"{minutes // 60}:{minutes % 60:02d}", ctx.state.date_text)
    elif tab == "timer":
        kids += _static(ctx, "00:05:00", "Timer")
    else:
        kids += _static(ctx, "00:00.00", "Stopwatch")
    kids.append(_tab_bar(ctx))
    return w.window(ctx, kids)


def _parse_time(hour_text: str, minute_text: str) -> tuple[int, int] | None:
    try:
        hour, minute = int(hour_text.strip()), int(minute_text.strip())
    except ValueError:
        return None
    if 0 <= hour <= 23 and 0 <= minute <= 59:
        return hour, minute
    return None


def _new_alarm_dialog(ctx: Ctx, overlay: Overlay) -> View:
    fields = ("hour", "minute", "label")

    def close() -> None:
        for name in fields:
            ctx.set_draft(name, "")
        ctx.close_overlay()

    def save() -> None:
        parsed = _parse_time(ctx.draft("hour"), ctx.draft("minute"))
        if parsed is None:
            overlay.error = "Enter an hour 0-23 and a minute 0-59"
            return
        clock = ctx.state.clock
        clock.alarms.append(Alarm(id=clock.next_id, hour=parsed[0], minute=parsed[1], label=ctx.draft("label").strip()))
        clock.next_id += 1
        close()

    field_h, gap = ctx.dp(56), ctx.dp(12)

    def body(rect) -> list[View]:
        x1, y1, x2, _ = rect
        pad = ctx.dp(16)
        half = (x2 - x1 - 2 * pad - gap) // 2
        kids = [
            w.text_field(ctx, (x1 + pad, y1, x1 + pad + half, y1 + field_h), "hour", "Hour", rid=_rid("input_hour")),
            w.text_field(ctx, (x2 - pad - half, y1, x2 - pad, y1 + field_h), "minute", "Minute", rid=_rid("input_minute")),
            w.text_field(ctx, (x1 + pad, y1 + field_h + gap, x2 - pad, y1 + 2 * field_h + gap), "label", "Label",
                         rid=_rid("input_label"), on_submit=save),
        ]
        if overlay.error:
            kids.append(w.text(ctx, (x1 + pad, y1 + 2 * (field_h + gap), x2 - pad, y1 + 2 * (field_h + gap) + ctx.dp(24)),
                               overlay.error, 13, (198, 40, 40), rid=_rid("error")))
        return kids

    return w.dialog(ctx, "Set alarm", body, 2 * (field_h + gap) + ctx.dp(28),
                    [("Cancel", close, "android:id/button2"), ("OK", save, "android:id/button1")])


def build_overlay(ctx: Ctx, overlay: Overlay) -> View | None:
    if overlay.kind == "new_alarm":
        return _new_alarm_dialog(ctx, overlay)
    if overlay.kind == "menu" and overlay.target.startswith("alarm:"):
        alarm_id = int(overlay.target.split(":", 1)[1])

        def delete() -> None:
            ctx.state.clock.alarms = [a for a in ctx.state.clock.alarms if a.id != alarm_id]
            ctx.close_overlay()

        return w.context_menu(ctx, overlay.x, overlay.y, [("Delete", delete)])
    return None
