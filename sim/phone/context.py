"""`Ctx`: what an app's screen builder gets — the state, the screen metrics and palette,
the route being built, and the navigation/focus/draft operations its handlers may call.

Handlers are closures that mutate `PhoneState` only through these operations or the app's
own state fields; nothing here draws.
"""

from dataclasses import dataclass

from vlagent.sim.phone.state import Overlay, PhoneState, Route
from vlagent.sim.phone.theme import DARK, LIGHT, Metrics, Palette


def _forget_route(state: PhoneState, route: Route) -> None:
    """Drop the drafts and scroll offsets that belong to a route leaving the stack."""
    prefix = route.key
    state.ui.fields = {k: v for k, v in state.ui.fields.items() if not k.startswith(prefix)}
    state.ui.scroll = {k: v for k, v in state.ui.scroll.items() if not k.startswith(prefix)}


def push(state: PhoneState, app: str, page: str = "main", arg: str = "") -> Route:
    """Open a screen on top of the back stack; returns its route."""
    route = Route(app=app, page=page, arg=arg)
    state.ui.stack.append(route)
    state.ui.overlay = None
    state.ui.focus = None
    state.ui.showing_recents = False
    if app in state.ui.recents:
        state.ui.recents.remove(app)
    state.ui.recents.insert(0, app)
    return route


def pop(state: PhoneState) -> None:
    """Leave the top screen (the back key); leaving an app's root returns home."""
    state.ui.overlay = None
    state.ui.focus = None
    if state.ui.stack:
        _forget_route(state, state.ui.stack.pop())


def go_home(state: PhoneState) -> None:
    state.ui.overlay = None
    state.ui.focus = None
    state.ui.showing_recents = False
    while state.ui.stack:
        _forget_route(state, state.ui.stack.pop())


def launch(state: PhoneState, package: str) -> None:
    """Bring an app to the front at its main page, as a launcher tap does (fresh task)."""
    go_home(state)
    push(state, package)
    state.opened_apps.append(package)


def prefill(state: PhoneState, route: Route, values: dict[str, str]) -> None:
    """Set the drafts of a route's text fields (an edit form opening with current values)."""
    for name, value in values.items():
        state.ui.fields[f"{route.key}#{name}"] = value


@dataclass
class Ctx:
    """The state, metrics and route an app builder works with, plus handler operations."""

    state: PhoneState
    metrics: Metrics
    route: Route

    @property
    def palette(self) -> Palette:
        return DARK if self.state.settings.dark_theme else LIGHT

    @property
    def package(self) -> str:
        return self.route.app

    def dp(self, value: float) -> int:
        return self.metrics.dp(value)

    def key(self, name: str) -> str:
        """A draft/scroll key scoped to the current route (forgotten when it is popped)."""
        return f"{self.route.key}#{name}"

    def push(self, page: str, arg: str = "", app: str | None = None) -> Route:
        return push(self.state, app or self.route.app, page, arg)

    def pop(self) -> None:
        pop(self.state)

    def replace(self, page: str, arg: str = "") -> None:
        """Swap the top screen for another page of the same app (no back entry)."""
        pop(self.state)
        push(self.state, self.route.app, page, arg)

    def open_overlay(self, kind: str, target: str = "", x: int = 0, y: int = 0) -> None:
        self.state.ui.overlay = Overlay(kind=kind, target=target, x=x, y=y)
        self.state.ui.focus = None

    def close_overlay(self) -> None:
        self.state.ui.overlay = None
        self.state.ui.focus = None

    def draft(self, name: str) -> str:
        return self.state.ui.fields.get(self.key(name), "")

    def set_draft(self, name: str, value: str) -> None:
        self.state.ui.fields[self.key(name)] = value

    def focus(self, name: str) -> None:
        self.state.ui.focus = self.key(name)

    def is_focused(self, name: str) -> bool:
        return self.state.ui.focus == self.key(name)
