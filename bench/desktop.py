"""Desktop capture and action latency on an X server: mss against `pyautogui.screenshot()`, side by side.

Starts its own Xvfb (a free display number, its own XAUTHORITY) at `--width` x `--height`, then
measures, in interleaved rounds (median ms):
- capture: `ScreenSource.capture()` (mss, ours, full screen and at scale 0.5), plain `mss.grab`,
  Pillow's `ImageGrab.grab()` and `pyautogui.screenshot()` (pyscreeze: gnome-screenshot, scrot or
  Pillow's grab; skipped, and said so, when it cannot run);
- actions through `DesktopActuator.execute`: a click, an ASCII `typewrite` of 10 characters, a
  pasted Unicode text (clipboard round trip via xclip), a hotkey.
Rewrites the "## Desktop" section of docs/PERFORMANCE.md.

    python bench/desktop.py [--repeats 20] [--width 1920 --height 1080] [--no-write]
"""

import argparse
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SECTION = "## Desktop"


def start_xvfb(width: int, height: int, folder: Path) -> tuple[subprocess.Popen, dict]:
    number = next(n for n in range(90, 400) if not Path(f"/tmp/.X{n}-lock").exists())
    auth = folder / "Xauthority"
    auth.touch()
    subprocess.run(["xauth", "-f", str(auth), "add", f":{number}", ".", secrets.token_hex(16)], check=True)
    server = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", f"{width}x{height}x24", "-auth", str(auth),
                               "-nolisten", "tcp"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not Path(f"/tmp/.X11-unix/X{number}").exists():
        time.sleep(0.05)
    # XDG_SESSION_TYPE tells pyscreeze (pyautogui.screenshot) this is X11, so it may use scrot
    return server, {"DISPLAY": f":{number}", "XAUTHORITY": str(auth), "XDG_SESSION_TYPE": "x11"}


def interleaved_ms(functions: dict, repeats: int) -> dict[str, float]:
    times = {name: [] for name in functions}
    for function in functions.values():
        function()
    for _ in range(repeats):
        for name, function in functions.items():
            started = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(values) * 1000 for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        server, display = start_xvfb(args.width, args.height, Path(folder))
        os.environ.update(display)
        try:
            import mss

            from vlagent.actuators.desktop import DesktopActuator
            from vlagent.agent.actions import KeyPress, Tap, TypeText
            from vlagent.perception.sources.display import import_pyautogui
            from vlagent.perception.sources.screen import ScreenSource

            gui = import_pyautogui()
            full, half = ScreenSource(1), ScreenSource(1, scale=0.5)
            grabber = mss.MSS() if hasattr(mss, "MSS") else mss.mss()
            from PIL import ImageGrab

            def pyautogui_screenshot():
                try:
                    return gui.screenshot()
                except Exception:  # noqa: BLE001 - pyscreeze needs gnome-screenshot or scrot here
                    return None

            peer_works = pyautogui_screenshot() is not None
            monitor = grabber.monitors[1]
            capture = interleaved_ms({
                "`ScreenSource.capture()` (mss, ours)": full.capture,
                "`ScreenSource(scale=0.5).capture()`": half.capture,
                "`mss.grab` alone": lambda: grabber.grab(monitor),
                "Pillow `ImageGrab.grab()` (X11 via XCB)": ImageGrab.grab,
                **({"`pyautogui.screenshot()`": gui.screenshot} if peer_works else {}),
            }, args.repeats)
            actuator = DesktopActuator(settle_s=0)
            frame = full.capture()
            actions = interleaved_ms({
                "click (`Tap`)": lambda: actuator.execute(Tap(x=200, y=200), frame),
                "type 10 ASCII characters (`typewrite`)": lambda: actuator.execute(TypeText(text="hello 1234"), frame),
                "type 10 Unicode characters (clipboard paste)": lambda: actuator.execute(TypeText(text="Grüße 世界 ✓"), frame),
                "hotkey ctrl+s": lambda: actuator.execute(KeyPress(key=["ctrl", "s"]), frame),
            }, args.repeats)
        finally:
            server.terminate()
    base = capture["`ScreenSource.capture()` (mss, ours)"]
    lines = [SECTION, "", f"On Xvfb at {args.width}x{args.height}x24, median of {args.repeats} interleaved rounds (ms).", "",
             "| capture | median ms | vs ours |", "|---|---|---|"]
    lines += [f"| {name} | {ms:.1f} | {ms / base:.2f}x |" for name, ms in capture.items()]
    lines += ["", "| action through `DesktopActuator.execute` | median ms |", "|---|---|"]
    lines += [f"| {name} | {ms:.1f} |" for name, ms in actions.items()]
    if "`pyautogui.screenshot()`" not in capture:
        lines += ["", "- `pyautogui.screenshot()` did not run: on Linux pyscreeze needs scrot (X11) or gnome-screenshot "
                  "(`bash scripts/install-system.sh` installs scrot); Pillow's `ImageGrab.grab()` row stands in for it."]
    else:
        lines += ["", "- `pyautogui.screenshot()` on X11 runs scrot, which writes a PNG that pyscreeze reads back."]
    lines += ["", f"- Machine: {os.cpu_count()} CPU cores ({platform.machine()}), Python {platform.python_version()}.",
              "- `typewrite` waits 10 ms between characters (`TYPE_INTERVAL_S`); the paste includes reading and "
              "restoring the clipboard with xclip and a 0.2 s wait for the application to fetch the selection.",
              f"- Reproduce: `python bench/desktop.py --repeats {args.repeats} --width {args.width} --height {args.height}`"]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        sys.path.insert(0, os.path.dirname(__file__))
        from perf_doc import write_section
        write_section(text, SECTION)


if __name__ == "__main__":
    main()
