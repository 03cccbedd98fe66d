"""One adb stream on the device side, with adb's one-WRTE-in-flight flow control.

`write(data)` splits data into payloads of at most the connection's max payload and sends
each only after the peer's OKAY for the previous one. `read_some()` / `read_exact(n)` give
the bytes the peer wrote. Raises ConnectionResetError once the peer has closed the stream.
"""

import asyncio

from vlagent.sim.adbd import protocol as p


class Stream:
    def __init__(self, connection, local_id: int, remote_id: int):
        self.connection = connection
        self.local_id = local_id
        self.remote_id = remote_id
        self.closed = False
        self._may_write = asyncio.Event()
        self._may_write.set()  # the first WRTE may follow our OKAY to the OPEN at once
        self._inbox: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._buffer = bytearray()

    def acknowledged(self, remote_id: int) -> None:
        self.remote_id = remote_id
        self._may_write.set()

    def received(self, data: bytes) -> None:
        self._inbox.put_nowait(data)

    def peer_closed(self) -> None:
        self.closed = True
        self._may_write.set()
        self._inbox.put_nowait(None)

    async def write(self, data: bytes) -> None:
        view = memoryview(data)
        step = self.connection.max_payload
        for start in range(0, len(view), step):
            await self._may_write.wait()
            if self.closed:
                raise ConnectionResetError("the peer closed the stream")
            self._may_write.clear()
            self.connection.send(p.A_WRTE, self.local_id, self.remote_id, view[start:start + step])
            await self.connection.writer.drain()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.connection.send(p.A_CLSE, self.local_id, self.remote_id)

    async def read_some(self) -> bytes | None:
        """The next bytes the peer wrote, or None once it closed the stream."""
        if self._buffer:
            data, self._buffer = bytes(self._buffer), bytearray()
            return data
        return await self._inbox.get()

    async def read_exact(self, count: int) -> bytes:
        while len(self._buffer) < count:
            data = await self._inbox.get()
            if data is None:
                raise ConnectionResetError("the peer closed the stream")
            self._buffer += data
        data = bytes(self._buffer[:count])
        del self._buffer[:count]
        return data
