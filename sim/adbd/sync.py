"""The `sync:` service subset (AOSP SYNC.TXT): STAT, LIST, RECV, SEND and QUIT over the
device's in-memory file system, so `adb pull`, `adb push` and adbutils' `sync` work.

Each request is a 4-byte id, a uint32 LE length and that many bytes (a path; for SEND
"path,mode"). Files live in `device.shell.files` (path -> bytes); directories are implied
by the paths under them.
"""

import stat
import struct
import time

DATA_CHUNK = 64 * 1024  # SYNC_DATA_MAX


def _mode_size(files: dict[str, bytes], path: str) -> tuple[int, int]:
    if path in files:
        return stat.S_IFREG | 0o644, len(files[path])
    prefix = path.rstrip("/") + "/"
    if path in ("/", "/sdcard", "/data/local/tmp") or any(name.startswith(prefix) for name in files):
        return stat.S_IFDIR | 0o755, 4096
    return 0, 0


def _fail(message: str) -> bytes:
    data = message.encode()
    return b"FAIL" + struct.pack("<I", len(data)) + data


async def serve_sync(stream, device) -> None:
    """Serve sync requests on `stream` until QUIT or the peer closes it."""
    files = device.shell.files
    now = int(time.time())
    while True:
        header = await stream.read_exact(8)
        request, length = header[:4], struct.unpack("<I", header[4:])[0]
        argument = (await stream.read_exact(length)).decode("utf-8", errors="surrogateescape")
        if request == b"QUIT":
            return
        if request == b"STAT":
            mode, size = _mode_size(files, argument)
            await stream.write(b"STAT" + struct.pack("<III", mode, size, now if mode else 0))
        elif request == b"LIST":
            prefix = argument.rstrip("/") + "/"
            names = sorted({name[len(prefix):].split("/", 1)[0] for name in files if name.startswith(prefix)})
            out = b""
            for name in names:
                mode, size = _mode_size(files, prefix + name)
                encoded = name.encode()
                out += b"DENT" + struct.pack("<IIII", mode, size, now, len(encoded)) + encoded
            await stream.write(out + b"DONE" + bytes(16))
        elif request == b"RECV":
            if argument not in files:
                await stream.write(_fail(f"remote object '{argument}' does not exist"))
                continue
            data = files[argument]
            out = b"".join(b"DATA" + struct.pack("<I", len(data[i:i + DATA_CHUNK])) + data[i:i + DATA_CHUNK]
                           for i in range(0, len(data), DATA_CHUNK))
            await stream.write(out + b"DONE" + bytes(4))
        elif request == b"SEND":
            path = argument.rsplit(",", 1)[0]
            content = bytearray()
            while True:
                chunk_header = await stream.read_exact(8)
                kind, size = chunk_header[:4], struct.unpack("<I", chunk_header[4:])[0]
                if kind == b"DONE":
                    break
                if kind != b"DATA":
                    await stream.write(_fail(f"unexpected {kind!r} in SEND"))
                    return
                content += await stream.read_exact(size)
            files[path] = bytes(content)
            await stream.write(b"OKAY" + bytes(4))
        else:
            await stream.write(_fail(f"unknown sync request {request!r}"))
            return
