"""The simulated apps. `SCREENS` maps each package to the module that builds its screens;
packages not listed open the generic screen. Each app module provides
`build(ctx) -> View` and `build_overlay(ctx, overlay) -> View | None`, and may provide
`on_back(ctx) -> bool`, `on_key(ctx, key) -> bool` and `on_text(ctx, text) -> bool`.
"""

from types import ModuleType

from vlagent.sim.phone.apps import (
    browser,
    calculator,
    camera,
    clock,
    contacts,
    generic,
    messages,
    notes,
    settings,
    shop,
)
from vlagent.sim.phone.apps.catalog import (
    APPS,
    BY_PACKAGE,
    LAUNCHER_PACKAGE,
    SYSTEMUI_PACKAGE,
    AppInfo,
    UnknownAppError,
    find_app,
)

SCREENS: dict[str, ModuleType] = {
    settings.PACKAGE: settings,
    clock.PACKAGE: clock,
    messages.PACKAGE: messages,
    contacts.PACKAGE: contacts,
    calculator.PACKAGE: calculator,
    notes.PACKAGE: notes,
    shop.PACKAGE: shop,
    browser.PACKAGE: browser,
    camera.PACKAGE: camera,
}


def screens_for(package: str) -> ModuleType:
    """The module that builds `package`'s screens (the generic one for unsimulated apps)."""
    if package not in BY_PACKAGE:
        raise UnknownAppError(f"no app with package {package!r} on the simulated phone")
    return SCREENS.get(package, generic)


__all__ = ["APPS", "BY_PACKAGE", "LAUNCHER_PACKAGE", "SYSTEMUI_PACKAGE", "AppInfo", "SCREENS", "UnknownAppError",
           "find_app", "screens_for"]
