"""`GET /api/stream`: the event stream over a websocket (bearer API_TOKEN), in seed 004's shape
`{"type": topic, "id": n, "data": …}`. `?since=ID` first replays every event after ID from the
journal, then goes live, so a client that reconnects with its last id misses nothing."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import WSMsgType, web

from ..errors import MalformedAlert
from ..event_hub import EventHub
from ..events import StreamEvent
from .keys import CORE

logger = logging.getLogger(__name__)
stream = web.RouteTableDef()
MAX_BEHIND = 5000  # events queued for one slow client before it is asked to reconnect
PAGE = 1000


@stream.get("/api/stream")
async def get_stream(request: web.Request) -> web.StreamResponse:
    since = _since(request)
    hub: EventHub = request.app[CORE].events
    ws = web.WebSocketResponse(heartbeat=30)
    await ws.prepare(request)
    queue: asyncio.Queue[StreamEvent | None] = asyncio.Queue(MAX_BEHIND)

    def listen(event: StreamEvent) -> None:
        try:
            queue.put_nowait(event)
        except asyncio.QueueFull:  # too slow: it reconnects with its last id and catches up
            queue._queue.clear()  # type: ignore[attr-defined]  # noqa: SLF001
            queue.put_nowait(None)

    hub.listeners.append(listen)  # before the replay: nothing falls between the two
    reader = asyncio.create_task(_until_closed(ws))
    try:
        last = await _replay(ws, hub, since) if since is not None else hub.last_id
        await _live(ws, queue, reader, last)
    finally:
        hub.listeners.remove(listen)
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
    return ws


def _since(request: web.Request) -> int | None:
    raw = request.query.get("since")
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise MalformedAlert("query 'since' must be an event id (a whole number)")
    return int(raw)


async def _replay(ws: web.WebSocketResponse, hub: EventHub, since: int) -> int:
    last = since
    while True:
        page = await hub.since(last, PAGE)
        for event in page:
            await ws.send_json(event.message())
            last = event.id
        if len(page) < PAGE:
            return last


async def _live(
    ws: web.WebSocketResponse,
    queue: asyncio.Queue[StreamEvent | None],
    reader: asyncio.Task[None],
    last: int,
) -> None:
    while not ws.closed:
        getter = asyncio.create_task(queue.get())
        done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
        if getter not in done:
            getter.cancel()
            return  # the client went away
        event = getter.result()
        if event is None:
            await ws.close(
                code=1013, message=f"too far behind: reconnect with since={last}".encode()
            )
            return
        if event.id > last:  # the replay may already have sent it
            await ws.send_json(event.message())
            last = event.id


async def _until_closed(ws: web.WebSocketResponse) -> None:
    async for message in ws:
        if message.type == WSMsgType.TEXT and message.data == "ping":
            await ws.send_str("pong")
