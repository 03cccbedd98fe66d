"""Resolve an OpenApp name ("Settings", "chrome", "com.android.settings") to an installed
package, from `pm list packages` — never by guessing a package that is not installed.

Order: an installed package id as given; the caller's own `apps` map (label -> package);
a table of well-known Android app labels (each label lists the packages that ship it, the
first installed one wins); finally the installed packages whose dotted name contains the
label as a segment ("shop" -> com.example.shop). No match, or several, is a LookupError
naming the candidates.
"""

import re

WELL_KNOWN: dict[str, tuple[str, ...]] = {
    "settings": ("com.android.settings",),
    "clock": ("com.google.android.deskclock", "com.android.deskclock", "com.sec.android.app.clockpackage"),
    "messages": ("com.google.android.apps.messaging", "com.android.messaging", "com.samsung.android.messaging"),
    "contacts": ("com.google.android.contacts", "com.android.contacts", "com.samsung.android.app.contacts"),
    "calculator": ("com.google.android.calculator", "com.android.calculator2", "com.sec.android.app.popupcalculator"),
    "notes": ("com.google.android.keep", "com.samsung.android.app.notes"),
    "keep": ("com.google.android.keep",),
    "camera": ("com.android.camera2", "com.google.android.GoogleCamera", "com.sec.android.app.camera"),
    "chrome": ("com.android.chrome",),
    "browser": ("com.android.chrome", "com.android.browser", "com.sec.android.app.sbrowser"),
    "calendar": ("com.google.android.calendar", "com.android.calendar"),
    "maps": ("com.google.android.apps.maps",),
    "files": ("com.google.android.documentsui", "com.android.documentsui", "com.google.android.apps.nbu.files"),
    "photos": ("com.google.android.apps.photos",),
    "gallery": ("com.google.android.apps.photos", "com.android.gallery3d", "com.sec.android.gallery3d"),
    "phone": ("com.google.android.dialer", "com.android.dialer", "com.samsung.android.dialer"),
    "dialer": ("com.google.android.dialer", "com.android.dialer"),
    "email": ("com.google.android.gm", "com.android.email"),
    "gmail": ("com.google.android.gm",),
    "music": ("com.google.android.apps.youtube.music", "com.android.music"),
    "youtube": ("com.google.android.youtube",),
    "video": ("com.google.android.youtube",),
    "playstore": ("com.android.vending",),
    "recorder": ("com.google.android.apps.recorder",),
    "translate": ("com.google.android.apps.translate",),
    "fitness": ("com.google.android.apps.fitness",),
    "wallet": ("com.google.android.apps.walletnfcrel",),
    "podcasts": ("com.google.android.apps.podcasts",),
}


def normalise(name: str) -> str:
    """Lower-case letters and digits only: "Play Store" -> "playstore"."""
    return re.sub(r"[^0-9a-z]", "", name.casefold())


def parse_package_list(text: str) -> set[str]:
    """`pm list packages` output -> package names."""
    return {line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("package:")}


def resolve_package(name: str, installed: set[str], apps: dict[str, str] | None = None) -> str:
    """The installed package for `name`; raises LookupError naming what was tried."""
    wanted = name.strip()
    package = wanted.split("/", 1)[0]
    if package in installed:
        return package
    key = normalise(wanted)
    for label, candidate in (apps or {}).items():
        if normalise(label) == key and candidate in installed:
            return candidate
    for candidate in WELL_KNOWN.get(key, ()):
        if candidate in installed:
            return candidate
    matches = sorted(p for p in installed if key and key in (normalise(s) for s in p.split(".")))
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise LookupError(f"app {name!r} is ambiguous: {', '.join(matches)}; give the package id")
    raise LookupError(f"no installed app matches {name!r}; give its package id")


class AppResolver:
    """Resolves names against one device's installed packages (listed once, again on a miss)."""

    def __init__(self, device, apps: dict[str, str] | None = None):
        self.device = device
        self.apps = dict(apps or {})
        self._installed: set[str] | None = None

    def installed(self, refresh: bool = False) -> set[str]:
        if refresh or self._installed is None:
            self._installed = parse_package_list(self.device.shell(["pm", "list", "packages"]).text)
        return self._installed

    def package(self, name: str) -> str:
        try:
            return resolve_package(name, self.installed(), self.apps)
        except LookupError:
            return resolve_package(name, self.installed(refresh=True), self.apps)
