"""Baseline (a): a bare aiohttp handler answering {} — the ceiling of our HTTP stack here."""

from __future__ import annotations

import sys

from aiohttp import web


async def handler(request: web.Request) -> web.Response:
    await request.read()
    return web.json_response({})


def main() -> None:
    app = web.Application()
    app.router.add_post("/{tail:.*}", handler)
    app.router.add_get("/health", handler)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
