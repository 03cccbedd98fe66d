"""`am`, `monkey`, `pm`, `ime` and `settings` on the simulated device.

`am broadcast` delivers ADBKeyboard's intents (ADB_INPUT_TEXT, ADB_INPUT_B64, ADB_CLEAR_TEXT,
ADB_INPUT_CODE, ADB_EDITOR_CODE) only while ADBKeyboard is the selected IME, exactly as
the real keyboard receives them only then; otherwise the broadcast completes and nothing
is typed. Base64 text is decoded as UTF-8, so any Unicode reaches the focused field.
"""

import base64
import binascii

from vlagent.sim.adbd.device import ADB_KEYBOARD_IME
from vlagent.sim.adbd.shell import Output

ADB_KEYBOARD_PACKAGE = "com.android.adbkeyboard"
SYSTEM_PACKAGES = ("android", "com.android.systemui", "com.android.launcher3", "com.android.shell",
                   "com.android.inputmethod.latin")
# am's options that take a value; the value is skipped when parsing.
_VALUE_OPTIONS = {"-a", "-c", "-d", "-t", "-n", "-f", "-p", "--user", "-e", "--es", "--ei", "--ez",
                  "--el", "--ef", "--eu", "--ecn", "--eia", "--ela", "--efa", "--esa", "--receiver-permission"}
_TWO_VALUE_OPTIONS = {"-e", "--es", "--ei", "--ez", "--el", "--ef", "--eu", "--ecn", "--eia", "--ela",
                      "--efa", "--esa"}


def _apps():
    from vlagent.sim.phone.apps.catalog import APPS

    return APPS


def _app_for(package: str):
    return next((app for app in _apps() if app.package == package), None)


def parse_intent(args: list[str]) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """Split am's intent arguments into (options, string extras, positionals)."""
    options: dict[str, str] = {}
    extras: dict[str, str] = {}
    positionals: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        if arg in _TWO_VALUE_OPTIONS:
            if index + 2 >= len(args):
                raise ValueError(f"option {arg} needs a key and a value")
            extras[args[index + 1]] = args[index + 2]
            index += 3
        elif arg in _VALUE_OPTIONS:
            if index + 1 >= len(args):
                raise ValueError(f"option {arg} needs a value")
            options[arg] = args[index + 1]
            index += 2
        elif arg.startswith("-") and arg not in ("-",):
            options[arg] = ""
            index += 1
        else:
            positionals.append(arg)
            index += 1
    return options, extras, positionals


class ActivityCommands:
    """The programs that talk to Android's system services, bound to one SimDevice."""

    def __init__(self, device):
        self.device = device

    def programs(self) -> dict:
        return {"am": self.am, "monkey": self.monkey, "pm": self.pm, "ime": self.ime,
                "settings": self.settings_cmd, "cmd": self.cmd}

    # am ---------------------------------------------------------------------------------
    def am(self, argv: list[str], stdin: bytes) -> Output:
        if len(argv) < 2:
            return Output(b"", b"usage: am [subcommand] [options]\n", 1)
        sub, args = argv[1], argv[2:]
        try:
            if sub in ("start", "start-activity"):
                return self._start(args)
            if sub == "broadcast":
                return self._broadcast(args)
            if sub == "force-stop":
                return self._force_stop(args)
        except (ValueError, IndexError) as error:
            return Output(b"", f"Error: {error}\n".encode(), 255)
        return Output(b"", f"Unknown command: {sub}\n".encode(), 255)

    def _start(self, args: list[str]) -> Output:
        options, _, positionals = parse_intent(args)
        data = options.get("-d", "")
        if options.get("-a") == "android.intent.action.VIEW" and data.startswith(("http://", "https://")):
            return self._view(data)
        component = options.get("-n") or next((p for p in positionals if "/" in p), "")
        package = component.split("/", 1)[0] if component else next(iter(positionals), options.get("-p", ""))
        app = _app_for(package)
        if app is None:
            return Output(f"Starting: Intent {{ cmp={component or package} }}\n".encode(),
                          b"Error: Activity not started, unable to resolve Intent\n", 1)
        if component:
            activity = component.split("/", 1)[1]
            wanted = {app.activity, app.package + app.activity if app.activity.startswith(".") else app.activity}
            full = activity if not activity.startswith(".") else app.package + activity
            if activity not in wanted and full not in wanted:
                return Output(f"Starting: Intent {{ cmp={component} }}\n".encode(),
                              f"Error type 3\nError: Activity class {{{component}}} does not exist.\n".encode(), 1)
        self.device.phone.open_app(app.package)
        self.device.changed()
        return Output(f"Starting: Intent {{ cmp={app.component} }}\n".encode())

    def _view(self, url: str) -> Output:
        """A web URL opens in the browser, as Android resolves ACTION_VIEW for http(s)."""
        from vlagent.sim.phone.apps.browser import normalise_url

        phone = self.device.phone
        phone.open_app("com.android.chrome")
        page = normalise_url(url)
        if page:
            phone.state.browser.url = page
            phone.state.browser.history.append(page)
        self.device.changed()
        return Output(f"Starting: Intent {{ act=android.intent.action.VIEW dat={url} }}\n".encode())

    def _force_stop(self, args: list[str]) -> Output:
        if not args:
            raise ValueError("Argument expected after \"force-stop\"")
        phone = self.device.phone
        if phone.state.foreground_app == args[-1]:
            phone.key("home")
            self.device.changed()
        return Output()

    def _broadcast(self, args: list[str]) -> Output:
        options, extras, _ = parse_intent(args)
        action = options.get("-a", "")
        header = f"Broadcasting: Intent {{ act={action} flg=0x400000{' (has extras)' if extras else ''} }}\n"
        if self.device.settings["secure"]["default_input_method"] == ADB_KEYBOARD_IME:
            self._adb_keyboard(action, extras)
        return Output((header + "Broadcast completed: result=0\n").encode())

    def _adb_keyboard(self, action: str, extras: dict[str, str]) -> None:
        phone = self.device.phone
        if action == "ADB_INPUT_TEXT" and "msg" in extras:
            phone.type_text(extras["msg"])
        elif action == "ADB_INPUT_B64" and "msg" in extras:
            try:
                text = base64.b64decode(extras["msg"], validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return  # ADBKeyboard logs and drops an undecodable message
            phone.type_text(text)
        elif action == "ADB_CLEAR_TEXT":
            phone.type_text("", clear=True)
        elif action in ("ADB_INPUT_CODE", "ADB_EDITOR_CODE") and extras.get("code", "").isdigit():
            from vlagent.sim.adbd.keycodes import NAMES_BY_CODE, PHONE_KEYS

            code = int(extras["code"])
            key = "enter" if action == "ADB_EDITOR_CODE" else PHONE_KEYS.get(NAMES_BY_CODE.get(code, ""))
            if key:
                phone.key(key)
        else:
            return
        self.device.changed()

    # monkey -----------------------------------------------------------------------------
    def monkey(self, argv: list[str], stdin: bytes) -> Output:
        args = argv[1:]
        packages = [args[i + 1] for i, arg in enumerate(args[:-1]) if arg == "-p"]
        app = _app_for(packages[0]) if len(packages) == 1 else None
        if app is None:
            return Output(b"", b"** No activities found to run, monkey aborted.\n", 252)
        self.device.phone.open_app(app.package)
        self.device.changed()
        return Output(b"Events injected: 1\n## Network stats: elapsed time=6ms (0ms mobile, 0ms wifi, 6ms not connected)\n")

    # pm / cmd package -------------------------------------------------------------------
    def pm(self, argv: list[str], stdin: bytes) -> Output:
        args = argv[1:]
        if args[:2] == ["list", "packages"]:
            packages = [app.package for app in _apps()] + list(SYSTEM_PACKAGES)
            if self.device.config.adb_keyboard:
                packages.append(ADB_KEYBOARD_PACKAGE)
            filters = [arg for arg in args[2:] if not arg.startswith("-")]
            shown = sorted(p for p in packages if not filters or filters[0] in p)
            return Output("".join(f"package:{p}\n" for p in shown).encode())
        if args[:1] == ["path"] and len(args) == 2:
            if _app_for(args[1]) is None and args[1] not in SYSTEM_PACKAGES:
                return Output(code=1)
            return Output(f"package:/data/app/{args[1]}-1/base.apk\n".encode())
        return Output(b"", f"Unknown command: {' '.join(args[:1])}\n".encode(), 255)

    def cmd(self, argv: list[str], stdin: bytes) -> Output:
        if len(argv) >= 2 and argv[1] == "package":
            return self.pm(["pm", *argv[2:]], stdin)
        if len(argv) >= 2 and argv[1] == "input":
            return self.device.shell.programs["input"](["input", *argv[2:]], stdin)
        return Output(b"", f"cmd: Can't find service: {argv[1] if len(argv) > 1 else ''}\n".encode(), 20)

    # ime / settings ---------------------------------------------------------------------
    def ime(self, argv: list[str], stdin: bytes) -> Output:
        args = argv[1:]
        secure = self.device.settings["secure"]
        enabled = [ime for ime in secure["enabled_input_methods"].split(":") if ime]
        if args[:1] == ["list"]:
            shown = self.device.installed_imes if "-a" in args else enabled
            return Output("".join(f"{ime}\n" for ime in shown).encode())
        if len(args) == 2 and args[0] in ("enable", "set", "disable"):
            ime = args[1]
            if ime not in self.device.installed_imes:
                return Output(b"", f"Unknown input method {ime} cannot be {args[0]}d for user #0\n".encode(), 255)
            if args[0] == "enable":
                state = "already" if ime in enabled else "now"
                if ime not in enabled:
                    secure["enabled_input_methods"] = ":".join([*enabled, ime])
                return Output(f"Input method {ime}: {state} enabled for user #0\n".encode())
            if args[0] == "disable":
                secure["enabled_input_methods"] = ":".join(i for i in enabled if i != ime)
                return Output(f"Input method {ime}: now disabled for user #0\n".encode())
            if ime not in enabled:
                return Output(b"", f"Unknown input method {ime} cannot be selected for user #0\n".encode(), 255)
            secure["default_input_method"] = ime
            return Output(f"Input method {ime} selected for user #0\n".encode())
        return Output(b"", b"ime: unsupported arguments\n", 255)

    def settings_cmd(self, argv: list[str], stdin: bytes) -> Output:
        args = [arg for arg in argv[1:] if arg not in ("--user", "0", "current")]
        if len(args) >= 3 and args[0] in ("get", "put") and args[1] in self.device.settings:
            table = self.device.settings[args[1]]
            if args[0] == "get":
                return Output(f"{table.get(args[2], 'null')}\n".encode())
            if len(args) != 4:
                return Output(b"", b"settings put needs a key and a value\n", 255)
            if args[1] == "system" and args[2] == "user_rotation" and args[3] != table["user_rotation"]:
                return Output(b"", b"the simulated display's rotation is fixed at start (--rotation)\n", 255)
            table[args[2]] = args[3]
            return Output()
        return Output(b"", b"usage: settings [--user <USER_ID> | current] get|put namespace key [value]\n", 255)
