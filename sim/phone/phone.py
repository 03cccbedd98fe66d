"""`Phone`: the simulated Android phone — state, screen building and device input.

The phone takes what a device takes, not the agent's Action schema: touches (`tap`,
`double_tap`, `long_press`, `swipe`), a scroll-wheel event at a point (`scroll`, Android's
`input scroll`), key presses by name (`key`, names in `PHONE_KEY_NAMES`), text (`type_text`)
and app launches (`open_app`). The sim actuator's `apply_action` (actuators/sim.py) maps
Actions onto these; nothing under sim/ imports the agent (tests/test_layering.py checks).

All coordinates are **device px** of the current orientation (1080x2400 portrait or
2400x1080 landscape by default, `DEFAULT_SIZE`); the frame `render()` returns has the same
size, so for the simulator frame px == device px. Input follows Android: a tap hits the
topmost clickable view under the finger, a long press the topmost long-clickable one, a swipe
that starts on a scrolling list moves its content by exactly the finger's travel (no
inertia), enter submits the focused field, back closes a menu or leaves the screen, home
returns to the launcher. Everything is deterministic for a seed.

`report_answer` / `report_finish` are not device input: the harness tells the simulated
world what the agent answered, so a task's check can read it (`state.agent`).
"""

import math

import numpy as np

from vlagent.perception.errors import VlagentError
from vlagent.perception.uitree import UINode, to_uiautomator_xml
from vlagent.sim.phone.apps import LAUNCHER_PACKAGE, find_app, screens_for
from vlagent.sim.phone.apps.launcher import build_home, build_recents
from vlagent.sim.phone.apps.launcher import build_overlay as launcher_overlay
from vlagent.sim.phone.context import Ctx, go_home, launch, pop
from vlagent.sim.phone.render import Screen, render_array, render_image
from vlagent.sim.phone.seeding import initial_state
from vlagent.sim.phone.state import DEFAULT_SIZE, PhoneState, Route
from vlagent.sim.phone.system import nav_bar, status_bar
from vlagent.sim.phone.theme import DARK, LIGHT, Metrics
from vlagent.sim.phone.view import View, hit, to_nodes, walk_visible
from vlagent.sim.phone.wallpaper import wallpaper

# The keys the phone has, by name: what `Phone.key` takes. These are the canonical names of
# the agent's Action schema (KEY_NAMES in agent/actions.py; tests/test_sim_phone.py checks
# the phone has every one), written out here because the simulated device must not import the
# agent. Aliases ("return", "esc") are resolved by the caller, never here.
_SYSTEM_KEYS = frozenset({"home", "back", "app_switch"})
_TYPED_KEYS = {"space": " ", **{ch: ch for ch in "abcdefghijklmnopqrstuvwxyz0123456789`-=[]\\;',./"}}
PHONE_KEY_NAMES = frozenset(
    {
        *_SYSTEM_KEYS, *_TYPED_KEYS, "enter", "backspace",
        "menu", "search", "power", "camera", "volume_up", "volume_down", "volume_mute", "notifications",
        "tab", "escape", "delete", "insert", "up", "down", "left", "right", "page_up", "page_down", "end", "begin",
        "ctrl", "alt", "shift", "meta", "caps_lock", "print_screen", *(f"f{i}" for i in range(1, 13)),
    }
)


class PhoneInputError(VlagentError, ValueError):
    """Input the phone cannot take: a point off screen, an unknown key name or direction (and,
    from the sim actuator's `apply_action`, an action that is not phone input)."""


class Phone:
    """A simulated phone. `width`/`height` are the natural (portrait) size in device px."""

    def __init__(self, width: int = DEFAULT_SIZE[0], height: int = DEFAULT_SIZE[1], seed: int = 0, orientation: str = "portrait",
                 state: PhoneState | None = None) -> None:
        if state is None:
            if orientation not in ("portrait", "landscape"):
                raise PhoneInputError(f"orientation must be 'portrait' or 'landscape', got {orientation!r}")
            if not (160 <= width <= 8192 and 160 <= height <= 8192):
                raise PhoneInputError(f"screen size {width}x{height} is outside 160..8192 px")
            state = initial_state(seed, width, height, orientation)
        self.state = state
        self._wallpapers: dict[tuple[int, int, int], object] = {}

    # ----- geometry and identity -------------------------------------------------------
    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in device px for the current orientation."""
        s = self.state
        return (s.width, s.height) if s.orientation == "portrait" else (s.height, s.width)

    @property
    def metrics(self) -> Metrics:
        return Metrics(*self.size)

    @property
    def rotation(self) -> int:
        """Android display rotation: 0 portrait, 1 landscape."""
        return 0 if self.state.orientation == "portrait" else 1

    def rotate(self, orientation: str) -> None:
        if orientation not in ("portrait", "landscape"):
            raise PhoneInputError(f"orientation must be 'portrait' or 'landscape', got {orientation!r}")
        self.state.orientation = orientation  # type: ignore[assignment]

    @property
    def current_app(self) -> str:
        """Package in front: an app, or the launcher on the home and recents screens."""
        if self.state.ui.showing_recents or not self.state.ui.stack:
            return LAUNCHER_PACKAGE
        return self.state.ui.stack[-1].app

    @property
    def screen_id(self) -> str:
        """A short name of what is shown, e.g. 'home', 'com.android.settings/display', '+menu'."""
        ui = self.state.ui
        if ui.showing_recents:
            name = "recents"
        elif not ui.stack:
            name = "home"
        else:
            top = ui.stack[-1]
            name = f"{top.app}/{top.page}" + (f"/{top.arg}" if top.arg else "")
        return name + (f"+{ui.overlay.kind}" if ui.overlay else "")

    # ----- building what is on screen ---------------------------------------------------
    def _wallpaper(self):
        key = (self.state.launcher.wallpaper_seed, *self.size)
        if key not in self._wallpapers:
            self._wallpapers[key] = wallpaper(*key)
        return self._wallpapers[key]

    def _ctx(self) -> Ctx:
        route = self.state.ui.stack[-1] if self.state.ui.stack else Route(app=LAUNCHER_PACKAGE, page="home")
        return Ctx(self.state, self.metrics, route)

    def build_screen(self) -> Screen:
        """The current screen as view trees (device px); handlers act on this phone's state."""
        state, metrics = self.state, self.metrics
        ctx = self._ctx()
        palette = DARK if state.settings.dark_theme else LIGHT
        on_home = not state.ui.stack
        overlay_view = None
        if state.ui.showing_recents:
            base = build_recents(ctx)
        elif on_home:
            base = build_home(ctx, self._wallpaper())
        else:
            module = screens_for(ctx.route.app)
            base = module.build(ctx)
        if state.ui.overlay is not None and not state.ui.showing_recents:
            builder = launcher_overlay if on_home else screens_for(ctx.route.app).build_overlay
            overlay_view = builder(ctx, state.ui.overlay)
            if overlay_view is not None:
                overlay_view.package = base.package or ctx.package
        over_wallpaper = on_home or state.ui.showing_recents
        system = [status_bar(state, metrics, palette, over_wallpaper),
                  nav_bar(metrics, palette, over_wallpaper, lambda: self.key("back"), lambda: self.key("home"),
                          lambda: self.key("app_switch"))]
        dim = overlay_view is not None and state.ui.overlay is not None and state.ui.overlay.kind != "menu"
        return Screen(self.size, base, overlay_view, dim, system, palette.background)

    def render(self) -> np.ndarray:
        """The frame: H x W x 3 uint8 RGB, device px."""
        return render_array(self.build_screen())

    def render_image(self):
        """The frame as a Pillow RGB image."""
        return render_image(self.build_screen())

    def ui_tree(self) -> list[UINode]:
        """Visible UI nodes in pre-order with bounds in device px (what `uiautomator dump` lists)."""
        screen = self.build_screen()
        return to_nodes(screen.interactive(), screen.rect)

    def ui_xml(self) -> str:
        """The UI tree as `uiautomator dump` XML."""
        return to_uiautomator_xml(self.ui_tree(), rotation=self.rotation)

    # ----- input (device px) ------------------------------------------------------------
    def _check_point(self, x: float, y: float) -> None:
        width, height = self.size
        if not (math.isfinite(x) and math.isfinite(y) and 0 <= x <= width and 0 <= y <= height):
            raise PhoneInputError(f"point ({x}, {y}) lies outside the {width}x{height} screen")

    def tap(self, x: float, y: float) -> None:
        """Tap at (x, y) device px. With a menu or dialog open, a tap outside it closes it."""
        self._check_point(x, y)
        screen = self.build_screen()
        target = hit(screen.interactive(), screen.rect, x, y, lambda v: v.clickable and v.on_tap is not None)
        if target is not None:
            target.view.on_tap()
            return
        if screen.overlay is not None:
            in_overlay = hit([screen.overlay], screen.rect, x, y, lambda v: True) is not None
            in_system = hit(screen.system, screen.rect, x, y, lambda v: True) is not None
            if not (in_overlay or in_system):
                self.state.ui.overlay = None
                self.state.ui.focus = None

    def double_tap(self, x: float, y: float) -> None:
        self.tap(x, y)
        self.tap(x, y)

    def long_press(self, x: float, y: float, seconds: float = 1.0) -> None:
        """Press and hold: opens the context menu of a long-clickable view; else nothing."""
        self._check_point(x, y)
        screen = self.build_screen()
        target = hit(screen.interactive(), screen.rect, x, y, lambda v: v.long_clickable and v.on_long_press is not None)
        if target is not None:
            target.view.on_long_press(int(x), int(y))

    def swipe(self, x1: float, y1: float, x2: float, y2: float, seconds: float = 0.3) -> None:
        """A finger stroke; on a scrolling list the content follows the finger exactly."""
        self._check_point(x1, y1)
        self._check_point(x2, y2)
        if math.hypot(x2 - x1, y2 - y1) < self.metrics.dp(8):
            self.tap(x1, y1)
            return
        self._scroll_at(x1, y1, y1 - y2)

    def scroll(self, direction: str, x: float | None = None, y: float | None = None, amount: float | None = None) -> None:
        """A scroll-wheel event at (x, y) device px (default the centre), as Android's `input scroll`.

        Reveals content in `direction` (up, down, left, right) by `amount` screen heights
        (default 0.5) in the scrolling list under the point; left and right move nothing (the
        simulated apps have no horizontal lists).
        """
        width, height = self.size
        x = width / 2 if x is None else x
        y = height / 2 if y is None else y
        self._check_point(x, y)
        amount = 0.5 if amount is None else amount
        if direction in ("up", "down"):
            distance = amount * height
            self._scroll_at(x, y, distance if direction == "down" else -distance)
        elif direction not in ("left", "right"):
            raise PhoneInputError(f"scroll direction must be up, down, left or right, got {direction!r}")

    def _scroll_at(self, x: float, y: float, delta: float) -> None:
        screen = self.build_screen()
        target = hit(screen.interactive(), screen.rect, x, y, lambda v: v.scroll_key is not None)
        if target is None:
            return
        view = target.view
        self.state.ui.scroll[view.scroll_key] = int(min(max(0, view.scroll_offset + round(delta)), view.scroll_max))

    def _focused_field(self, screen: Screen) -> View | None:
        focus = self.state.ui.focus
        if focus is None:
            return None
        for placed in walk_visible(screen.interactive(), screen.rect):
            if placed.view.text_field == focus:
                return placed.view
        return None

    def key(self, name: str) -> None:
        """Press the key `name`, one of `PHONE_KEY_NAMES` ("home", "back", "enter", "a", ...).

        home, back and app_switch act on the system; enter, backspace and the typing keys
        edit the focused field; with no field focused a key goes to the app in front (the
        Calculator takes digits, operators, enter, backspace, delete and escape). Other keys
        change nothing. Raises PhoneInputError for a name the phone does not have.
        """
        if not isinstance(name, str) or name not in PHONE_KEY_NAMES:
            raise PhoneInputError(f"unknown key name {name!r}: the phone's keys have canonical names "
                                  "such as 'home', 'back', 'app_switch', 'enter', 'backspace', 'a'")
        key = name
        ui = self.state.ui
        if key == "home":
            go_home(self.state)
        elif key == "app_switch":
            ui.overlay, ui.focus, ui.showing_recents = None, None, not ui.showing_recents
        elif key == "back":
            self._back()
        else:
            self._edit_key(key)

    def _back(self) -> None:
        ui = self.state.ui
        if ui.showing_recents:
            ui.showing_recents = False
        elif ui.overlay is not None:
            ui.overlay, ui.focus = None, None
        elif ui.stack:
            module = screens_for(ui.stack[-1].app)
            handler = getattr(module, "on_back", None)
            if handler is None or not handler(self._ctx()):
                pop(self.state)

    def _edit_key(self, key: str) -> None:
        screen = self.build_screen()
        field = self._focused_field(screen)
        ui = self.state.ui
        if field is not None:
            value = ui.fields.get(field.text_field, "")
            if key == "enter":
                if field.on_submit is not None:
                    field.on_submit()
                elif field.multiline:
                    ui.fields[field.text_field] = value + "\n"
            elif key == "backspace":
                ui.fields[field.text_field] = value[:-1]
            elif key in _TYPED_KEYS:
                ui.fields[field.text_field] = value + _TYPED_KEYS[key]
            return
        if ui.stack and not ui.showing_recents and ui.overlay is None:
            handler = getattr(screens_for(ui.stack[-1].app), "on_key", None)
            if handler is not None:
                handler(self._ctx(), key)

    def type_text(self, text: str, clear: bool = False, submit: bool = False) -> bool:
        """Type into the focused field (any Unicode); returns False when no field has focus.

        Without a focused field the text goes to the app as key presses (the Calculator
        uses them) or nowhere, as on a device with a hardware keyboard.
        """
        screen = self.build_screen()
        field = self._focused_field(screen)
        ui = self.state.ui
        if field is None:
            if ui.stack and not ui.showing_recents and ui.overlay is None:
                handler = getattr(screens_for(ui.stack[-1].app), "on_text", None)
                if handler is not None:
                    handler(self._ctx(), text)
            if submit:
                self.key("enter")
            return False
        ui.fields[field.text_field] = ("" if clear else ui.fields.get(field.text_field, "")) + text
        if submit:
            self.key("enter")
        return True

    def open_app(self, name: str) -> None:
        """Launch an app by label ("Settings") or package ("com.android.settings")."""
        launch(self.state, find_app(name).package)

    # ----- what the agent reported (not device input) ----------------------------------
    def report_answer(self, text: str) -> None:
        """Record the agent's answer to an information task (`state.agent.answer`).

        The harness tells the simulated world what the agent answered, so a task's check can
        read it; a real phone has no such input.
        """
        self.state.agent.answer = text

    def report_finish(self, status: str) -> None:
        """Record that the agent finished, claiming "success" or "failure" (`state.agent.finished`).

        The harness tells the simulated world what the agent reported, so a task's check can
        read it; a real phone has no such input.
        """
        if status not in ("success", "failure"):
            raise PhoneInputError(f"finish status must be 'success' or 'failure', got {status!r}")
        self.state.agent.finished = status  # type: ignore[assignment]

    # ----- persistence ------------------------------------------------------------------
    def to_json(self) -> str:
        """The whole phone (app data and UI) as JSON; `Phone.from_json` restores it."""
        return self.state.model_dump_json()

    @classmethod
    def from_json(cls, text: str | bytes) -> "Phone":
        return cls(state=PhoneState.model_validate_json(text))

    def snapshot(self) -> PhoneState:
        return self.state.model_copy(deep=True)

    def restore(self, snapshot: PhoneState) -> None:
        self.state = snapshot.model_copy(deep=True)
