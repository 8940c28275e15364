"""Baseline (b): what the seed did in the request path, at the same latency as our paper venue.

Per alert, before answering: 6 exchange calls and 12 Discord log posts, one after another and
blocking, as seed 002's Flask handler did. It runs under its Procfile's model: one synchronous
worker, so a second alert waits for the first (`--threads N` emulates Flask's threaded dev server).
Each call is a blocking sleep of the latency: the work behind a call is negligible next to it.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

EXCHANGE_CALLS, DISCORD_POSTS = 6, 12


def seed_handler(latency_s: float) -> None:
    for _ in range(EXCHANGE_CALLS + DISCORD_POSTS):
        time.sleep(latency_s)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    pool = ThreadPoolExecutor(max_workers=args.threads)

    async def handler(request: web.Request) -> web.Response:
        await request.read()
        await asyncio.get_running_loop().run_in_executor(pool, seed_handler, args.latency_ms / 1000)
        return web.json_response({"ok": True})

    async def health(_: web.Request) -> web.Response:
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_post("/{tail:.*}", handler)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
