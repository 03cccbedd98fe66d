"""The apps installed on the simulated phone: label, Android package, launch activity,
icon glyph and colour. Packages and activities follow the real Android apps so that
`am start -n package/activity` style commands and uiautomator package filters read right.
"""

from dataclasses import dataclass

from vlagent.perception.errors import VlagentError


@dataclass(frozen=True)
class AppInfo:
    label: str
    package: str
    activity: str
    glyph: str
    color: tuple[int, int, int]

    @property
    def component(self) -> str:
        """`package/activity`, as `am start -n` takes it."""
        return f"{self.package}/{self.activity}"


APPS: tuple[AppInfo, ...] = (
    AppInfo("Settings", "com.android.settings", ".Settings", "gear", (84, 110, 122)),
    AppInfo("Clock", "com.google.android.deskclock", "com.android.deskclock.DeskClock", "clock", (57, 73, 171)),
    AppInfo("Messages", "com.google.android.apps.messaging", ".ui.ConversationListActivity", "bubble", (25, 118, 210)),
    AppInfo("Contacts", "com.google.android.contacts", "com.android.contacts.activities.PeopleActivity", "person", (0, 137, 123)),
    AppInfo("Calculator", "com.google.android.calculator", "com.android.calculator2.Calculator", "calc", (230, 81, 0)),
    AppInfo("Notes", "com.google.android.keep", ".activities.BrowseActivity", "note", (249, 168, 37)),
    AppInfo("Camera", "com.android.camera2", "com.android.camera.CameraLauncher", "camera", (66, 66, 66)),
    AppInfo("Shop", "com.vlagent.shop", ".MainActivity", "bag", (216, 27, 96)),
    AppInfo("Browser", "com.android.chrome", "com.google.android.apps.chrome.Main", "globe", (67, 160, 71)),
    AppInfo("Calendar", "com.google.android.calendar", "com.android.calendar.AllInOneActivity", "calendar", (30, 136, 229)),
    AppInfo("Maps", "com.google.android.apps.maps", "com.google.android.maps.MapsActivity", "pin", (211, 47, 47)),
    AppInfo("Files", "com.google.android.documentsui", "com.android.documentsui.files.FilesActivity", "folder", (2, 119, 189)),
    AppInfo("Photos", "com.google.android.apps.photos", ".home.HomeActivity", "photo", (142, 36, 170)),
    AppInfo("Phone", "com.google.android.dialer", ".extensions.GoogleDialtactsActivity", "handset", (46, 125, 50)),
    AppInfo("Email", "com.google.android.gm", ".ConversationListActivityGmail", "envelope", (198, 40, 40)),
    AppInfo("Music", "com.google.android.apps.youtube.music", ".activities.MusicActivity", "music", (239, 83, 80)),
    AppInfo("Weather", "com.vlagent.weather", ".WeatherActivity", "sun", (41, 121, 255)),
    AppInfo("Play Store", "com.android.vending", "com.google.android.finsky.activities.MainActivity", "store", (0, 150, 136)),
    AppInfo("Video", "com.google.android.youtube", ".HomeActivity", "play", (183, 28, 28)),
    AppInfo("Recorder", "com.google.android.apps.recorder", ".ui.main.MainActivity", "mic", (121, 85, 72)),
    AppInfo("Translate", "com.google.android.apps.translate", ".TranslateActivity", "translate", (63, 81, 181)),
    AppInfo("Fitness", "com.google.android.apps.fitness", ".main.MainActivity", "heart", (233, 30, 99)),
    AppInfo("Wallet", "com.google.android.apps.walletnfcrel", "com.google.commerce.tapandpay.android.wallet.WalletActivity", "wallet", (55, 71, 79)),
    AppInfo("Podcasts", "com.google.android.apps.podcasts", ".PodcastsActivity", "podcast", (123, 31, 162)),
)

BY_PACKAGE = {app.package: app for app in APPS}
LAUNCHER_PACKAGE = "com.android.launcher3"
SYSTEMUI_PACKAGE = "com.android.systemui"


class UnknownAppError(VlagentError, KeyError):
    """Raised for an app name or package that is not installed on the simulated phone."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown app"


def _norm(name: str) -> str:
    return "".join(ch for ch in name.casefold() if ch.isalnum())


def find_app(name: str) -> AppInfo:
    """The app with this label, package or `package/activity` (case and spacing ignored)."""
    wanted = name.strip()
    package = wanted.split("/", 1)[0]
    if package in BY_PACKAGE:
        return BY_PACKAGE[package]
    key = _norm(wanted)
    for app in APPS:
        if key and key in (_norm(app.label), _norm(app.label + "app")):
            return app
    raise UnknownAppError(f"no app named {name!r} on the simulated phone; installed: {', '.join(a.label for a in APPS)}")
