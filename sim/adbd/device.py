"""`SimDevice`: one simulated phone as an Android device sees itself from `adb shell`.

It owns the `Phone`, the current task, the display rotation, the IME settings, a tiny
file system and the shell with its log of every command that ran. `run(line)` executes a
shell line under a lock, so the adb server's concurrent streams see one consistent phone.

Sizes: `natural_size` is the panel in its natural (portrait) orientation, what
`wm size` reports; `display_size` is the current logical display, (H, W) for odd
rotations — the space of `input tap`, `screencap` and `uiautomator dump` bounds, as on
Android. The phone is built landscape for odd rotations, so it lays out at `display_size`.
"""

import json
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vlagent.sim.adbd.shell import Output, Shell
from vlagent.sim.phone.state import DEFAULT_SIZE

ADB_KEYBOARD_IME = "com.android.adbkeyboard/.AdbIME"
LATIN_IME = "com.android.inputmethod.latin/.LatinIME"


@dataclass(frozen=True)
class DeviceConfig:
    """How to build the device. Sizes in device px of the natural orientation; rotation in
    quarter turns (Android's Surface.ROTATION_*); density in dpi."""

    width: int = DEFAULT_SIZE[0]
    height: int = DEFAULT_SIZE[1]
    rotation: int = 0
    seed: int = 0
    task: str | None = None
    density: int = 420
    model: str = "vlagent_sim"
    secure: bool = False  # FLAG_SECURE: screencap returns black, as a banking app would
    adb_keyboard: bool = True  # ADBKeyboard's IME is installed (not selected until `ime set`)
    state_file: str | None = None

    def __post_init__(self) -> None:
        if self.rotation not in (0, 1, 2, 3):
            raise ValueError(f"rotation must be 0, 1, 2 or 3 quarter turns, got {self.rotation!r}")
        if not (160 <= self.width <= 8192 and 160 <= self.height <= 8192):
            raise ValueError(f"screen size {self.width}x{self.height} px is outside 160..8192")


class SimDevice:
    """The simulated device; every public method is safe to call from several threads."""

    def __init__(self, config: DeviceConfig):
        from vlagent.sim.adbd.programs import build_programs

        self.config = config
        self.lock = threading.RLock()
        self.generation = 0  # bumped by every command that may change the screen
        self._frame_cache: tuple[int, np.ndarray, bytes | None] | None = None
        self.settings: dict[str, dict[str, str]] = {
            "secure": {"default_input_method": LATIN_IME, "enabled_input_methods": LATIN_IME},
            "system": {"user_rotation": str(config.rotation), "accelerometer_rotation": "0"},
            "global": {"adb_enabled": "1"},
        }
        self.shell = Shell(programs=build_programs(self))
        self.phone = None
        self.task = None
        self.reset(config.task, config.seed, restore=True)

    @property
    def rotation(self) -> int:
        return self.config.rotation

    @property
    def natural_size(self) -> tuple[int, int]:
        return self.config.width, self.config.height

    @property
    def display_size(self) -> tuple[int, int]:
        width, height = self.natural_size
        return (height, width) if self.rotation % 2 else (width, height)

    @property
    def installed_imes(self) -> list[str]:
        return [LATIN_IME, ADB_KEYBOARD_IME] if self.config.adb_keyboard else [LATIN_IME]

    def reset(self, task: str | None, seed: int, restore: bool = False) -> str:
        """A fresh phone (optionally set up for `task`); returns the task's instruction.

        With `restore` and a state file that exists, the phone resumes from that file.
        """
        from vlagent.sim.phone import Phone

        width, height = self.natural_size
        orientation = "landscape" if self.rotation % 2 else "portrait"
        with self.lock:
            self.phone = Phone(width, height, seed, orientation=orientation)
            self.task = None
            instruction = ""
            if task:
                from vlagent.sim.tasks import make_task

                self.task = make_task(task, seed)
                self.task.setup(self.phone)
                instruction = getattr(self.task, "instruction", "") or getattr(self.task, "goal", "")
            if restore and self.config.state_file and Path(self.config.state_file).exists():
                self.phone = Phone.from_json(Path(self.config.state_file).read_text())
            self.shell.log.clear()
            self.changed()
            return instruction

    def changed(self) -> None:
        """Mark the screen as possibly changed, and persist the state when asked to."""
        self.generation += 1
        if self.config.state_file:
            _atomic_write(Path(self.config.state_file), self.state_json())

    def run(self, line: str, stdin: bytes = b"") -> Output:
        """Run one shell line (as `adb shell LINE` does) and return its output."""
        with self.lock:
            return self.shell.run(line, stdin)

    def state_json(self) -> str:
        with self.lock:
            return self.phone.state.model_dump_json()

    def log_json(self) -> str:
        with self.lock:
            return json.dumps(self.shell.log, ensure_ascii=False)

    def frame_rgb(self) -> np.ndarray:
        """The current screen, display_size, HxWx3 uint8; black when `secure`."""
        with self.lock:
            if self._frame_cache is None or self._frame_cache[0] != self.generation:
                image = np.asarray(self.phone.render(), dtype=np.uint8)
                self._frame_cache = (self.generation, np.zeros_like(image) if self.config.secure else image, None)
            return self._frame_cache[1]

    def frame_raw(self) -> bytes:
        """The screen as raw screencap bytes: the compositor's RGBA buffer, built once per frame."""
        from vlagent.sim.adbd.system_cmd import raw_screencap

        with self.lock:
            image = self.frame_rgb()
            generation, _, raw = self._frame_cache
            if raw is None:
                raw = raw_screencap(image)
                self._frame_cache = (generation, image, raw)
            return raw

    def ui_nodes(self) -> list:
        with self.lock:
            return list(self.phone.ui_tree())


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as file:
        file.write(text)
    os.replace(temporary, path)
