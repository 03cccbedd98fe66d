"""Settings tasks: switches on the main list (Dark theme sits below the fold, so it needs
scrolling) and the Display sub-page's single-choice dialogs."""

from vlagent.sim.tasks.base import TaskTemplate


def _set(**values):
    def setup(state, params):
        for key, value in values.items():
            setattr(state.settings, key, value)

    return setup


def _bluetooth_sample(rng, state):
    return {"value": rng.choice(("on", "off"))}


def _bluetooth_setup(state, params):
    state.settings.bluetooth = params["value"] == "off"
    state.settings.airplane_mode = False


def _font_sample(rng, state):
    return {"size": rng.choice(("Small", "Large", "Largest"))}


def _timeout_sample(rng, state):
    return {"timeout": rng.choice(("15 seconds", "1 minute", "2 minutes", "5 minutes", "10 minutes"))}


TEMPLATES = (
    TaskTemplate("settings.wifi_on", "Turn on Wi-Fi", ("Settings",), 10, lambda rng, s: {},
                 lambda s, p: s.settings.wifi, _set(wifi=False, airplane_mode=False)),
    TaskTemplate("settings.wifi_off", "Turn off Wi-Fi", ("Settings",), 10, lambda rng, s: {},
                 lambda s, p: not s.settings.wifi, _set(wifi=True, airplane_mode=False)),
    TaskTemplate("settings.bluetooth", "Turn {value} Bluetooth", ("Settings",), 10, _bluetooth_sample,
                 lambda s, p: s.settings.bluetooth == (p["value"] == "on"), _bluetooth_setup),
    TaskTemplate("settings.airplane_on", "Turn on Airplane mode", ("Settings",), 10, lambda rng, s: {},
                 lambda s, p: s.settings.airplane_mode, _set(airplane_mode=False)),
    TaskTemplate("settings.dark_theme_on", "Turn on Dark theme", ("Settings",), 20, lambda rng, s: {},
                 lambda s, p: s.settings.dark_theme, _set(dark_theme=False), tags=("scroll",)),
    TaskTemplate("settings.font_size", "Set the font size to {size} in the Display settings", ("Settings",), 20,
                 _font_sample, lambda s, p: s.settings.font_size == p["size"], _set(font_size="Default")),
    TaskTemplate("settings.screen_timeout", "Set the screen timeout to {timeout}", ("Settings",), 20, _timeout_sample,
                 lambda s, p: s.settings.screen_timeout == p["timeout"], _set(screen_timeout="30 seconds")),
    TaskTemplate("settings.bluetooth_on_wifi_off", "Turn on Bluetooth and turn off Wi-Fi", ("Settings",), 14,
                 lambda rng, s: {}, lambda s, p: s.settings.bluetooth and not s.settings.wifi,
                 _set(bluetooth=False, wifi=True, airplane_mode=False)),
)
