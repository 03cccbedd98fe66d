"""The simulated phone's whole state: app data plus the transient UI (back stack, focus,
drafts, scroll offsets, open menu). Everything is a JSON-serialisable pydantic model, so
`PhoneState.model_dump_json()` / `model_validate_json()` carry a phone between processes.

Tasks check success on this state (never on pixels). Units: scroll offsets are device px;
times are 24-hour (hour 0-23, minute 0-59); prices are integer cents.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_SIZE = (1080, 2400)  # natural (portrait) (width, height) in device px of a new simulated phone
FONT_SIZES = ("Small", "Default", "Large", "Largest")
SCREEN_TIMEOUTS = ("15 seconds", "30 seconds", "1 minute", "2 minutes", "5 minutes", "10 minutes")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=False)


class SettingsState(_Model):
    wifi: bool = True
    bluetooth: bool = False
    airplane_mode: bool = False
    location: bool = True
    dark_theme: bool = False
    adaptive_brightness: bool = True
    font_size: Literal["Small", "Default", "Large", "Largest"] = "Default"
    screen_timeout: str = "30 seconds"
    battery_percent: int = 82


class Alarm(_Model):
    id: int
    hour: int = Field(ge=0, le=23)
    minute: int = Field(ge=0, le=59)
    enabled: bool = True
    label: str = ""

    @property
    def time_text(self) -> str:
        """The alarm's time as the Clock app shows it, e.g. "7:30" or "19:05"."""
        return f"{self.hour}:{self.minute:02d}"


class ClockState(_Model):
    alarms: list[Alarm] = Field(default_factory=list)
    tab: Literal["alarm", "clock", "timer", "stopwatch"] = "alarm"
    next_id: int = 1


class Contact(_Model):
    id: int
    first: str
    last: str = ""
    phone: str = ""
    email: str = ""

    @property
    def name(self) -> str:
        return " ".join(part for part in (self.first.strip(), self.last.strip()) if part)


class Message(_Model):
    outgoing: bool
    text: str


class Conversation(_Model):
    contact: str
    messages: list[Message] = Field(default_factory=list)


class Note(_Model):
    id: int
    title: str
    body: str = ""


class NotesState(_Model):
    notes: list[Note] = Field(default_factory=list)
    next_id: int = 1


class CalculatorState(_Model):
    expression: str = ""
    result: str | None = None
    error: str = ""
    history: list[str] = Field(default_factory=list)


class Product(_Model):
    id: int
    name: str
    price_cents: int


class ShopState(_Model):
    products: list[Product] = Field(default_factory=list)
    cart: list[int] = Field(default_factory=list)
    banner: str = ""
    paid: bool = False
    checkout_opened: bool = False


class BrowserState(_Model):
    url: str = ""
    history: list[str] = Field(default_factory=list)


class CameraState(_Model):
    photos: int = 0
    front: bool = False


class LauncherState(_Model):
    order: list[str] = Field(default_factory=list)
    columns: int = 4
    wallpaper_seed: int = 0
    icon_shape: Literal["circle", "squircle", "rounded"] = "circle"


class Route(_Model):
    """One screen on the back stack: an app package, a page name inside it, an argument."""

    app: str
    page: str = "main"
    arg: str = ""

    @property
    def key(self) -> str:
        return f"{self.app}/{self.page}/{self.arg}"


class Overlay(_Model):
    """A context menu or dialog drawn over the screen; (x, y) device px anchors menus."""

    kind: str
    target: str = ""
    x: int = 0
    y: int = 0
    error: str = ""


class UIState(_Model):
    stack: list[Route] = Field(default_factory=list)
    overlay: Overlay | None = None
    focus: str | None = None
    fields: dict[str, str] = Field(default_factory=dict)
    scroll: dict[str, int] = Field(default_factory=dict)
    recents: list[str] = Field(default_factory=list)
    showing_recents: bool = False


class AgentState(_Model):
    """What the agent reported (its Answer / Finish), recorded by the harness through
    `Phone.report_answer` / `Phone.report_finish` so a task's check can read it."""

    answer: str | None = None
    finished: Literal["success", "failure"] | None = None


class PhoneState(_Model):
    seed: int = 0
    width: int = DEFAULT_SIZE[0]  # natural (portrait) size, device px
    height: int = DEFAULT_SIZE[1]
    orientation: Literal["portrait", "landscape"] = "portrait"
    minutes_since_midnight: int = 9 * 60 + 41
    date_text: str = "Mon, 3 June"
    settings: SettingsState = Field(default_factory=SettingsState)
    clock: ClockState = Field(default_factory=ClockState)
    contacts: list[Contact] = Field(default_factory=list)
    next_contact_id: int = 1
    conversations: list[Conversation] = Field(default_factory=list)
    notes: NotesState = Field(default_factory=NotesState)
    calculator: CalculatorState = Field(default_factory=CalculatorState)
    shop: ShopState = Field(default_factory=ShopState)
    browser: BrowserState = Field(default_factory=BrowserState)
    camera: CameraState = Field(default_factory=CameraState)
    launcher: LauncherState = Field(default_factory=LauncherState)
    ui: UIState = Field(default_factory=UIState)
    agent: AgentState = Field(default_factory=AgentState)
    opened_apps: list[str] = Field(default_factory=list)

    @property
    def foreground_app(self) -> str | None:
        """Package of the app on top of the back stack; None on the home screen."""
        return self.ui.stack[-1].app if self.ui.stack else None

    def contact_named(self, name: str) -> Contact | None:
        return next((c for c in self.contacts if c.name == name), None)

    def conversation_with(self, name: str) -> Conversation | None:
        return next((c for c in self.conversations if c.contact == name), None)

    def alarm_at(self, hour: int, minute: int) -> Alarm | None:
        return next((a for a in self.clock.alarms if (a.hour, a.minute) == (hour, minute)), None)
