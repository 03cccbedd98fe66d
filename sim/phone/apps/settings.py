"""Settings (com.android.settings): a scrolling list with Wi-Fi, Bluetooth, Airplane mode,
Location and Dark theme switches, a Display sub-page (font size and screen timeout as
single-choice dialogs) and plain sub-pages for the other entries.

Airplane mode turns Wi-Fi and Bluetooth off, as on a real phone.
"""

from vlagent.sim.phone import widgets as w
from vlagent.sim.phone.apps.catalog import BY_PACKAGE
from vlagent.sim.phone.context import Ctx
from vlagent.sim.phone.state import FONT_SIZES, SCREEN_TIMEOUTS, Overlay
from vlagent.sim.phone.view import View

PACKAGE = "com.android.settings"

# (key, title, summary); a key naming a SettingsState bool is a switch row.
MAIN_ROWS = (
    ("wifi", "Wi-Fi", None),
    ("bluetooth", "Bluetooth", None),
    ("airplane_mode", "Airplane mode", "Turn off all wireless radios"),
    ("network", "Mobile network", "Carrier: SimMobile"),
    ("connected", "Connected devices", "Bluetooth, pairing"),
    ("apps", "Apps", "Recent apps, default apps"),
    ("notifications", "Notifications", "Notification history, conversations"),
    ("battery", "Battery", None),
    ("storage", "Storage", "41% used, 75.5 GB free"),
    ("sound", "Sound & vibration", "Volume, haptics, Do Not Disturb"),
    ("display", "Display", "Dark theme, font size, brightness"),
    ("wallpaper", "Wallpaper & style", "Colours, themed icons"),
    ("accessibility", "Accessibility", "Display, interaction, audio"),
    ("security", "Security & privacy", "App security, device lock"),
    ("location", "Location", "Apps can use your location"),
    ("wellbeing", "Digital Wellbeing", "Screen time, app timers"),
    ("google", "Google", "Services and preferences"),
    ("system", "System", "Languages, gestures, time, backup"),
    ("about", "About phone", "SimPhone 1080"),
    ("dark_theme", "Dark theme", "Use a dark background"),
)
SWITCHES = ("wifi", "bluetooth", "airplane_mode", "location", "dark_theme", "adaptive_brightness")
TITLES = {key: title for key, title, _ in MAIN_ROWS}


def _set_switch(ctx: Ctx, key: str, value: bool) -> None:
    setattr(ctx.state.settings, key, value)
    if key == "airplane_mode" and value:
        ctx.state.settings.wifi = False
        ctx.state.settings.bluetooth = False


def _summary(ctx: Ctx, key: str, summary: str | None) -> str | None:
    s = ctx.state.settings
    if key == "wifi":
        return "Connected to HomeNet" if s.wifi else "Off"
    if key == "bluetooth":
        return "On, not connected" if s.bluetooth else "Off"
    if key == "battery":
        return f"{s.battery_percent}%"
    return summary


def _switch_row(ctx: Ctx, rect, key: str, title: str, summary: str | None) -> View:
    value = getattr(ctx.state.settings, key)
    return w.row(ctx, rect, title, summary, checked=value, on_tap=lambda: _set_switch(ctx, key, not value),
                 rid=f"{PACKAGE}:id/{key}")


def _main(ctx: Ctx) -> View:
    def build(i: int, rect) -> View:
        key, title, summary = MAIN_ROWS[i]
        summary = _summary(ctx, key, summary)
        if key in SWITCHES:
            return _switch_row(ctx, rect, key, title, summary)
        return w.row(ctx, rect, title, summary, on_tap=lambda: ctx.push(key), rid=f"{PACKAGE}:id/{key}")

    heights = [ctx.dp(72)] * len(MAIN_ROWS)
    return w.window(ctx, [w.app_bar(ctx, "Settings", back=False),
                          w.page_list(ctx, "list", heights, build, rid=f"{PACKAGE}:id/recycler_view")])


DISPLAY_ROWS = (
    ("brightness", "Brightness level", "60%"),
    ("adaptive_brightness", "Adaptive brightness", "Optimise brightness for the light"),
    ("dark_theme", "Dark theme", "Use a dark background"),
    ("font_size", "Font size", None),
    ("screen_timeout", "Screen timeout", None),
    ("auto_rotate", "Auto-rotate screen", "Off"),
)


def _display(ctx: Ctx) -> View:
    s = ctx.state.settings

    def build(i: int, rect) -> View:
        key, title, summary = DISPLAY_ROWS[i]
        if key in SWITCHES:
            return _switch_row(ctx, rect, key, title, summary)
        if key in ("font_size", "screen_timeout"):
            return w.row(ctx, rect, title, getattr(s, key), on_tap=lambda: ctx.open_overlay("choice", key),
                         rid=f"{PACKAGE}:id/{key}")
        return w.row(ctx, rect, title, summary, rid=f"{PACKAGE}:id/{key}")

    heights = [ctx.dp(72)] * len(DISPLAY_ROWS)
    return w.window(ctx, [w.app_bar(ctx, "Display"), w.page_list(ctx, "list", heights, build, rid=f"{PACKAGE}:id/recycler_view")])


def _plain(ctx: Ctx, key: str) -> View:
    title = TITLES.get(key, key)
    if key == "app_info":
        app = BY_PACKAGE.get(ctx.route.arg)
        title = f"{app.label if app else ctx.route.arg} app info"
    x1, y1, x2, _ = ctx.metrics.body
    pad = ctx.dp(16)
    note = w.text(ctx, (x1 + pad, y1 + pad, x2 - pad, y1 + pad + ctx.dp(80)),
                  f"{title} options are not simulated on this phone.", 16, ctx.palette.on_surface_dim, max_lines=2,
                  rid=f"{PACKAGE}:id/empty")
    return w.window(ctx, [w.app_bar(ctx, title), note])


def build(ctx: Ctx) -> View:
    page = ctx.route.page
    if page == "main":
        return _main(ctx)
    if page == "display":
        return _display(ctx)
    return _plain(ctx, page)


def build_overlay(ctx: Ctx, overlay: Overlay) -> View | None:
    if overlay.kind != "choice" or overlay.target not in ("font_size", "screen_timeout"):
        return None
    key = overlay.target
    options = FONT_SIZES if key == "font_size" else SCREEN_TIMEOUTS
    current = getattr(ctx.state.settings, key)
    item_h = ctx.dp(48)

    def choose(value: str) -> None:
        setattr(ctx.state.settings, key, value)
        ctx.close_overlay()

    def body(rect) -> list[View]:
        def item(i: int, r) -> View:
            return w.radio(ctx, r, options[i], options[i] == current, lambda: choose(options[i]))

        return [w.scroll_list(ctx, rect, f"choice.{key}", [item_h] * len(options), item, rid="android:id/select_dialog_listview")]

    title = "Font size" if key == "font_size" else "Screen timeout"
    return w.dialog(ctx, title, body, item_h * len(options), [("Cancel", ctx.close_overlay, "android:id/button2")])
