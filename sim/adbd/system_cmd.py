"""`screencap`, `wm`, `dumpsys`, `getprop`, `uiautomator` and a few file commands.

Formats match what real devices print, in the lines parsers read:
- `screencap` (raw): a 16-byte header of uint32 LE width, height, pixel format
  (1 = RGBA_8888) and colour space (1 = sRGB, Android 9+), then width*height*4 bytes;
  `screencap -p` (or a FILE ending in .png) writes PNG. The image is the logical display:
  a rotated device captures in its rotated size.
- `wm size` -> `Physical size: WxH` of the natural orientation; `wm density`.
- `dumpsys display` -> a DisplayViewport with `orientation=R` (what adbutils reads),
  `mCurrentOrientation=R` and a DisplayInfo with `rotation R`;
  `dumpsys window` -> `mCurrentFocus=...` and `mCurrentRotation=ROTATION_90` style lines;
  `dumpsys input` -> `SurfaceOrientation: R`.
- `uiautomator dump [FILE]` -> `UI hierchary dumped to: FILE` (sic, Android's spelling);
  `/dev/tty` prints the XML itself first.
"""

import io
import struct

from vlagent.perception.uitree import to_uiautomator_xml
from vlagent.sim.adbd.shell import Output

PIXEL_FORMAT_RGBA_8888 = 1
COLORSPACE_SRGB = 1
DEFAULT_DUMP = "/sdcard/window_dump.xml"
ROTATION_NAMES = ("ROTATION_0", "ROTATION_90", "ROTATION_180", "ROTATION_270")


def raw_screencap(image) -> bytes:
    """Android's raw screencap bytes for an HxWx3 uint8 RGB image."""
    import numpy as np

    height, width = image.shape[:2]
    rgba = np.empty((height, width, 4), dtype=np.uint8)
    rgba[..., :3] = image
    rgba[..., 3] = 255
    return struct.pack("<4I", width, height, PIXEL_FORMAT_RGBA_8888, COLORSPACE_SRGB) + rgba.tobytes()


def png_screencap(image) -> bytes:
    """PNG bytes, encoded on the "device" as `screencap -p` does (this is its real cost)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image, "RGB").save(buffer, format="PNG")
    return buffer.getvalue()


class SystemCommands:
    """Read-only system programs and the tiny file system, bound to one SimDevice."""

    def __init__(self, device):
        self.device = device

    def programs(self) -> dict:
        return {"screencap": self.screencap, "wm": self.wm, "dumpsys": self.dumpsys,
                "getprop": self.getprop, "uiautomator": self.uiautomator, "cat": self.cat,
                "rm": self.rm, "ls": self.ls}

    def properties(self) -> dict[str, str]:
        config = self.device.config
        return {
            "ro.build.version.release": "14", "ro.build.version.sdk": "34",
            "ro.product.brand": "vlagent", "ro.product.manufacturer": "vlagent",
            "ro.product.model": config.model, "ro.product.name": config.model,
            "ro.product.device": config.model, "ro.product.cpu.abi": "x86_64",
            "ro.sf.lcd_density": str(config.density), "ro.serialno": f"SIM{config.seed:08d}",
            "sys.boot_completed": "1", "persist.sys.locale": "en-US",
            "ro.build.characteristics": "phone,emulator",
        }

    def screencap(self, argv: list[str], stdin: bytes) -> Output:
        args = argv[1:]
        png = "-p" in args
        if "-h" in args:
            return Output(b"usage: screencap [-hp] [-d display-id] [FILENAME]\n")
        files = [arg for index, arg in enumerate(args)
                 if not arg.startswith("-") and (index == 0 or args[index - 1] != "-d")]
        png = png or (bool(files) and files[0].endswith(".png"))
        data = png_screencap(self.device.frame_rgb()) if png else self.device.frame_raw()
        if files:
            self.device.shell.files[files[0]] = data
            return Output()
        return Output(data)

    def wm(self, argv: list[str], stdin: bytes) -> Output:
        args = argv[1:]
        width, height = self.device.natural_size
        if args == ["size"]:
            return Output(f"Physical size: {width}x{height}\n".encode())
        if args == ["density"]:
            return Output(f"Physical density: {self.device.config.density}\n".encode())
        if args[:1] in (["size"], ["density"]):
            return Output(b"", b"the simulated display's size and density are fixed at start\n", 255)
        return Output(b"", b"usage: wm [size|density] (the simulator supports these two)\n", 255)

    def dumpsys(self, argv: list[str], stdin: bytes) -> Output:
        service = argv[1] if len(argv) > 1 else ""
        rotation = self.device.rotation
        width, height = self.device.natural_size
        display_w, display_h = self.device.display_size
        density = self.device.config.density
        if service == "display":
            text = (
                "DISPLAY MANAGER (dumpsys display)\n"
                "  mViewports=[DisplayViewport{type=INTERNAL, valid=true, isActive=true, displayId=0, "
                f"uniqueId='local:0', physicalPort=0, orientation={rotation}, "
                f"logicalFrame=Rect(0, 0 - {display_w}, {display_h}), deviceWidth={width}, deviceHeight={height}}}]\n"
                "Display Devices: size=1\n"
                f"  DisplayDeviceInfo{{\"Built-in Screen\": uniqueId=\"local:0\", {width} x {height}, "
                f"modeId 1, density {density}, touch INTERNAL, rotation 0, type INTERNAL, state ON, "
                "FLAG_DEFAULT_DISPLAY, FLAG_ROTATES_WITH_CONTENT}\n"
                f"    mCurrentOrientation={rotation}\n"
                "Logical Displays: size=1\n"
                f"  mOverrideDisplayInfo=DisplayInfo{{\"Built-in Screen\", displayId 0, real {display_w} x "
                f"{display_h}, largest app {display_w} x {display_h}, rotation {rotation}, density {density}, "
                "state ON}\n"
            )
        elif service == "window":
            focus = self._focus_component()
            text = (
                "WINDOW MANAGER DISPLAY CONTENTS (dumpsys window displays)\n"
                f"  Display: mDisplayId=0 rotation={rotation}\n"
                f"    init={width}x{height} {density}dpi cur={display_w}x{display_h} app={display_w}x{display_h}\n"
                f"    mRotation={rotation} mCurrentRotation={ROTATION_NAMES[rotation]}\n"
                f"  mCurrentFocus=Window{{1a2b3c u0 {focus}}}\n"
                f"  mFocusedApp=ActivityRecord{{4d5e6f u0 {focus} t7}}\n"
            )
        elif service == "input":
            text = (
                "INPUT MANAGER (dumpsys input)\n"
                "  Viewport INTERNAL: displayId=0, uniqueId=local:0, port=0, "
                f"orientation={rotation}, deviceSize=[{width}, {height}]\n"
                f"    SurfaceOrientation: {rotation}\n"
            )
        else:
            return Output(f"Can't find service: {service}\n".encode(), b"", 0)
        return Output(text.encode())

    def _focus_component(self) -> str:
        from vlagent.sim.phone.apps.catalog import BY_PACKAGE, LAUNCHER_PACKAGE

        package = self.device.phone.state.foreground_app
        app = BY_PACKAGE.get(package) if package else None
        if app is None:
            return f"{LAUNCHER_PACKAGE}/{LAUNCHER_PACKAGE}.Launcher"
        return app.component

    def getprop(self, argv: list[str], stdin: bytes) -> Output:
        props = self.properties()
        if len(argv) == 1:
            return Output("".join(f"[{k}]: [{v}]\n" for k, v in sorted(props.items())).encode())
        default = argv[2] if len(argv) > 2 else ""
        return Output(f"{props.get(argv[1], default)}\n".encode())

    def uiautomator(self, argv: list[str], stdin: bytes) -> Output:
        args = argv[1:]
        if args[:1] != ["dump"]:
            return Output(b"", b"Usage: uiautomator dump [--compressed] [file]\n", 1)
        files = [arg for arg in args[1:] if not arg.startswith("--")]
        target = files[0] if files else DEFAULT_DUMP
        xml = to_uiautomator_xml(self.device.ui_nodes(), rotation=self.device.rotation).encode()
        message = f"UI hierchary dumped to: {target}\n".encode()
        if target == "/dev/tty":
            return Output(xml + message)
        self.device.shell.files[target] = xml
        return Output(message)

    def cat(self, argv: list[str], stdin: bytes) -> Output:
        if len(argv) == 1:
            return Output(stdin)
        out, err, code = b"", b"", 0
        for path in argv[1:]:
            if path in self.device.shell.files:
                out += self.device.shell.files[path]
            else:
                err += f"cat: {path}: No such file or directory\n".encode()
                code = 1
        return Output(out, err, code)

    def rm(self, argv: list[str], stdin: bytes) -> Output:
        force = any(arg.startswith("-") and "f" in arg for arg in argv[1:])
        err, code = b"", 0
        for path in (arg for arg in argv[1:] if not arg.startswith("-")):
            if self.device.shell.files.pop(path, None) is None and not force:
                err += f"rm: {path}: No such file or directory\n".encode()
                code = 1
        return Output(b"", err, code)

    def ls(self, argv: list[str], stdin: bytes) -> Output:
        paths = [arg for arg in argv[1:] if not arg.startswith("-")]
        files = self.device.shell.files
        if not paths:
            return Output("".join(f"{p}\n" for p in sorted(files)).encode())
        missing = [p for p in paths if p not in files]
        return Output("".join(f"{p}\n" for p in paths if p in files).encode(),
                      "".join(f"ls: {p}: No such file or directory\n" for p in missing).encode(),
                      1 if missing else 0)
