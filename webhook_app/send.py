"""`python -m webhook_app send ROUTE FILE`: post an alert as TradingView does, print the answer."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import requests

from .alertmodel import PASSPHRASE_PLACEHOLDER, load_alertmodel, refresh_times

ROUTES = {
    "order": "/tradingview-to-webhook-order",
    "study": "/tradingview-to-discord-study",
    "fmz": "/webhook/fmz",
    "signal": "/webhook/signal",
    "ib": "/webhook/ib",
}


def route_path(route: str) -> str:
    if route.startswith("/"):
        return route
    if route in ROUTES:
        return ROUTES[route]
    raise SystemExit(f"unknown route {route!r}: use one of {', '.join(ROUTES)} or a /path")


def read_source(source: str) -> str:
    """A file, '-' for stdin, or BLOCK[:EXAMPLE] of alertmodel.txt (strategy-multi-tp:entry)."""
    if source == "-":
        return sys.stdin.read()
    path = Path(source)
    if path.is_file():
        return path.read_text(encoding="utf-8")
    name, _, example = source.partition(":")
    blocks = load_alertmodel()
    if name not in blocks:
        known = ", ".join(f"{b.name}:{e}" for b in blocks.values() for e in b.examples)
        raise SystemExit(f"{source!r} is neither a file nor an alertmodel.txt example ({known})")
    block = blocks[name]
    key = example or next(iter(block.examples))
    if key not in block.examples:
        raise SystemExit(f"{name} has no example {key!r} ({', '.join(block.examples)})")
    return refresh_times(block.examples[key])  # sent now, as TradingView would


def fill_passphrase(body: str, passphrase: str | None) -> str:
    """Replace the template's visible placeholder with the real passphrase, JSON-escaped."""
    if passphrase and PASSPHRASE_PLACEHOLDER in body:
        return body.replace(PASSPHRASE_PLACEHOLDER, json.dumps(passphrase)[1:-1])
    return body


def post(
    url: str, body: str, *, wait: float | None = None, timeout: float = 10.0
) -> requests.Response:
    params = {"wait": str(wait)} if wait else None
    # TradingView sends text/plain unless the message is valid JSON; the server ignores the header.
    headers = {
        "Content-Type": "application/json" if body.lstrip().startswith("{") else "text/plain"
    }
    return requests.post(
        url, data=body.encode("utf-8"), params=params, headers=headers, timeout=timeout
    )


def main(
    route: str, source: str, *, base_url: str, wait: float | None, passphrase: str | None
) -> int:
    body = fill_passphrase(read_source(source), passphrase)
    try:
        response = post(base_url.rstrip("/") + route_path(route), body, wait=wait)
    except requests.RequestException as e:
        print(f"could not reach {base_url}: {e.__class__.__name__}", file=sys.stderr)
        return 2
    try:
        shown = json.dumps(response.json(), indent=2)
    except ValueError:
        shown = response.text
    print(f"HTTP {response.status_code}\n{shown}")
    return 0 if response.ok else 1
