"""The baseline: a minimal broadcast server written directly on the `websockets` library.

It accepts connections on /, and when a client on /control sends `{"at": UNIX_TIME, "bytes": N}`
it sleeps until that instant and sends the same N-byte text message to every connection with
`websockets.broadcast`, the library's own fast path. It runs on uvloop, as `companion serve`
does (uvicorn picks uvloop when it is installed), so both servers have the same event loop.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import uvloop
from websockets.asyncio.server import ServerConnection, broadcast, serve

clients: set[ServerConnection] = set()


async def handler(ws: ServerConnection) -> None:
    if ws.request is not None and ws.request.path == "/control":
        order = json.loads(await ws.recv())
        await asyncio.sleep(max(0.0, order["at"] - time.time()))
        broadcast(clients, "x" * int(order["bytes"]))
        await ws.send("sent")
        return
    clients.add(ws)
    try:
        await ws.wait_closed()
    finally:
        clients.discard(ws)


async def main(port: int) -> None:
    async with serve(
        handler,
        "127.0.0.1",
        port,
        max_size=2**16,
        ping_interval=None,
        compression=None,
        backlog=2048,  # as uvicorn's: pages connect 200 at a time
    ) as server:
        print("ready", flush=True)
        await server.serve_forever()


if __name__ == "__main__":
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main(int(sys.argv[1])))
