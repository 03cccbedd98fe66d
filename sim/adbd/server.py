"""The device side of the adb transport over TCP: what `adb connect HOST:PORT` talks to.

One asyncio listener serves one `SimDevice`. Per connection: answer the server's CNXN with
our own (no AUTH: the device accepts every host, like an emulator with auth off), then
serve streams. A stream is OPEN(remote_id, 0, "service:arg"); we answer OKAY(local,
remote), and each WRTE we send must be acknowledged by an OKAY before the next, which is
adb's flow control (we do not advertise `delayed_ack`). Every WRTE we receive gets an OKAY
back. A stream ends with CLSE from either side.

Services: `shell:` (raw output), `shell,v2,...:` (shell protocol packets with the exit
code), `exec:` (raw stdout and stderr merged, binary-safe), `sync:` (file transfer subset)
and the simulator-only `vlagent:` services (state, command log, task reset), which no
`adb shell` line can reach, so they never appear in the shell's command log.
"""

import asyncio
import json
import sys

from vlagent.sim.adbd import protocol as p
from vlagent.sim.adbd.device import SimDevice
from vlagent.sim.adbd.streams import Stream

FEATURES = ("shell_v2", "cmd", "fixed_push_mkdir")  # no stat_v2/ls_v2: sync serves v1 only
PROMPT = b"sim:/ $ "


class Connection:
    """One adb server connected to the device."""

    def __init__(self, device: SimDevice, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.device = device
        self.reader = reader
        self.writer = writer
        self.version = p.A_VERSION_MIN
        self.max_payload = p.MAX_PAYLOAD_V1
        self.streams: dict[int, Stream] = {}
        self.tasks: set[asyncio.Task] = set()
        self.next_id = 1

    def send(self, command: int, arg0: int, arg1: int, data: bytes = b"") -> None:
        packet = p.Packet(command, arg0, arg1, data)
        with_checksum = command == p.A_CNXN or self.version < p.A_VERSION
        self.writer.writelines((p.encode_header(packet, with_checksum), data))

    async def run(self) -> None:
        try:
            while True:
                header = await self.reader.readexactly(p.HEADER_SIZE)
                command, arg0, arg1, length, check = p.decode_header(header)
                data = await self.reader.readexactly(length) if length else b""
                # A CNXN carries the sender's version; a reconnecting server at >= A_VERSION sends no sum.
                p.verify(data, check, arg0 if command == p.A_CNXN else self.version)
                self.handle(p.Packet(command, arg0, arg1, data))
                await self.writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the server went away: normal end of a connection
        except p.ProtocolError as error:
            print(f"sim-device: dropping connection: {error}", file=sys.stderr, flush=True)
        finally:
            for stream in self.streams.values():
                stream.peer_closed()
            for task in self.tasks:
                task.cancel()
            self.writer.close()

    def handle(self, packet: p.Packet) -> None:
        if packet.command == p.A_CNXN:
            self.version = min(packet.arg0, p.A_VERSION)
            self.max_payload = min(packet.arg1, p.MAX_PAYLOAD)
            self.send(p.A_CNXN, self.version, self.max_payload, self.banner())
        elif packet.command == p.A_OPEN:
            self.open(packet.arg0, packet.data)
        elif packet.command == p.A_OKAY:
            stream = self.streams.get(packet.arg1)
            if stream is not None:
                stream.acknowledged(packet.arg0)
        elif packet.command == p.A_WRTE:
            stream = self.streams.get(packet.arg1)
            if stream is not None:
                self.send(p.A_OKAY, stream.local_id, stream.remote_id)
                stream.received(packet.data)
        elif packet.command == p.A_CLSE:
            stream = self.streams.pop(packet.arg1, None)
            if stream is not None:
                stream.peer_closed()

    def banner(self) -> bytes:
        model = self.device.config.model
        props = {"ro.product.name": model, "ro.product.model": model, "ro.product.device": model}
        return p.banner(props, FEATURES)

    def open(self, remote_id: int, payload: bytes) -> None:
        try:
            request = p.parse_service(payload)
        except p.ProtocolError:
            self.send(p.A_CLSE, 0, remote_id)
            return
        service = {"shell": self.shell_service, "exec": self.exec_service,
                   "sync": self.sync_service, "vlagent": self.vlagent_service}.get(request.kind)
        if service is None:
            self.send(p.A_CLSE, 0, remote_id)  # adbd's answer to a service it does not know
            return
        local_id, self.next_id = self.next_id, self.next_id + 1
        stream = Stream(self, local_id, remote_id)
        self.streams[local_id] = stream
        self.send(p.A_OKAY, local_id, remote_id)
        task = asyncio.get_running_loop().create_task(self._serve(stream, service, request))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _serve(self, stream: Stream, service, request: p.ServiceRequest) -> None:
        try:
            await service(stream, request)
        except ConnectionError:
            pass  # the peer closed the stream or the connection while we were writing
        finally:
            if not stream.closed:
                stream.close()
            self.streams.pop(stream.local_id, None)

    async def run_line(self, line: str):
        return await asyncio.to_thread(self.device.run, line)

    async def shell_service(self, stream: Stream, request: p.ServiceRequest) -> None:
        v2 = "v2" in request.options
        if not request.argument:
            await self.interactive(stream, v2)
            return
        out = await self.run_line(request.argument)
        if v2:
            await stream.write(p.shell_packet(p.SHELL_STDOUT, out.stdout) if out.stdout else b"")
            await stream.write(p.shell_packet(p.SHELL_STDERR, out.stderr) if out.stderr else b"")
            await stream.write(p.shell_packet(p.SHELL_EXIT, bytes([out.code & 0xFF])))
        else:
            await stream.write(out.stdout + out.stderr)

    async def exec_service(self, stream: Stream, request: p.ServiceRequest) -> None:
        out = await self.run_line(request.argument)
        await stream.write(out.stdout + out.stderr)

    async def interactive(self, stream: Stream, v2: bool) -> None:
        """A line-at-a-time shell for people poking the device with `adb shell`."""
        def frame(packet_id: int, data: bytes) -> bytes:
            return p.shell_packet(packet_id, data) if v2 and data else data

        pending = bytearray()
        await stream.write(frame(p.SHELL_STDOUT, PROMPT))
        while True:
            data = await stream.read_some()
            if data is None:
                return
            if v2:
                pending_v2 = bytearray(data)
                data = b"".join(chunk for kind, chunk in p.split_shell_packets(pending_v2) if kind == p.SHELL_STDIN)
            pending += data
            while b"\n" in pending:
                line, _, rest = bytes(pending).partition(b"\n")
                pending = bytearray(rest)
                text = line.decode("utf-8", errors="surrogateescape").strip("\r")
                if text.strip() == "exit":
                    if v2:
                        await stream.write(p.shell_packet(p.SHELL_EXIT, b"\0"))
                    return
                out = await self.run_line(text)
                await stream.write(frame(p.SHELL_STDOUT, out.stdout) + frame(p.SHELL_STDERR, out.stderr))
                await stream.write(frame(p.SHELL_STDOUT, PROMPT))

    async def sync_service(self, stream: Stream, request: p.ServiceRequest) -> None:
        from vlagent.sim.adbd.sync import serve_sync

        await serve_sync(stream, self.device)

    async def vlagent_service(self, stream: Stream, request: p.ServiceRequest) -> None:
        """Simulator-only queries: `vlagent:state`, `vlagent:log`, `vlagent:task:NAME[:SEED]`."""
        name, _, argument = request.argument.partition(":")
        if name == "state":
            reply = self.device.state_json()
        elif name == "log":
            reply = self.device.log_json()
        elif name == "task":
            task, _, seed = argument.partition(":")
            try:
                instruction = await asyncio.to_thread(self.device.reset, task or None, int(seed or 0))
                reply = json.dumps({"ok": True, "task": task, "instruction": instruction})
            except (KeyError, ValueError) as error:
                reply = json.dumps({"ok": False, "error": str(error)})
        else:
            reply = json.dumps({"ok": False, "error": f"unknown vlagent service {name!r}"})
        await stream.write(reply.encode())


async def serve(device: SimDevice, host: str, port: int, ready=None) -> None:
    """Serve `device` on host:port until cancelled; `ready(port)` is called once listening."""
    async def accept(reader, writer):
        await Connection(device, reader, writer).run()

    server = await asyncio.start_server(accept, host, port)
    bound = server.sockets[0].getsockname()[1]
    if ready is not None:
        ready(bound)
    async with server:
        await server.serve_forever()
