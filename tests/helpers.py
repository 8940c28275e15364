"""Test helpers: the secrets to look for, settings, a sample alert and a checked HTTP client."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from tests.fakes.ccxt_venues.model import API_KEY, API_PASSWORD, API_SECRET
from webhook_app.config import Settings, load_settings
from webhook_app.web.keys import CORE

PASSPHRASE = "pass-Zq8vN3kLw7Rt2yXb"  # distinctive, so a leak is easy to find
API_TOKEN = "tok-Hc4mP9sQe6Vd1uJa"
FMZ_ACCESS_KEY, FMZ_SECRET_KEY = "fmzak-Q2wE4rT6", "fmzsk-Y8uI0oP3"
# The loopback venues' key, secret and passphrase (tests/fakes/ccxt_venues verifies them).
VENUE_KEYS = {"VENUE_KEY": API_KEY, "VENUE_SECRET": API_SECRET, "VENUE_PASSWORD": API_PASSWORD}
SECRETS = (PASSPHRASE, API_TOKEN, FMZ_ACCESS_KEY, FMZ_SECRET_KEY, *VENUE_KEYS.values())
FMZ_ENV = {
    "FMZ_ACCESS_KEY": FMZ_ACCESS_KEY,
    "FMZ_SECRET_KEY": FMZ_SECRET_KEY,
    "FMZ_SYMBOL": "BTCUSDT",
}
ORDER = "/tradingview-to-webhook-order"


def make_settings(data_dir: Path, **env: str) -> Settings:
    base = {
        "WEBHOOK_PASSPHRASE": PASSPHRASE,
        "API_TOKEN": API_TOKEN,
        "DATA_DIR": str(data_dir),
        "ACCOUNTS_FILE": "",
    }
    base.update(env)
    return load_settings(base, env_file=None)


def fired(seconds_ago: float = 0) -> str:
    """A {{timenow}} value: now, or a few seconds ago (to tell two alerts apart)."""
    return (datetime.now(UTC) - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def alert(**fields: Any) -> dict[str, Any]:
    """A valid seed-002 multi-TP entry; keyword arguments override or (with None) remove fields."""
    body: dict[str, Any] = {
        "ticker": "BTCUSDT",
        "exchange": "BINANCE",
        "time": fired(),
        "action": "buy",
        "type": "market",
        "price": 40000,
        "message": "entry",
        "long SL": 39800,
        "long TP": 41000,
        "short SL": 40200,
        "short TP": 39000,
        "long Breakeven": 40020,
        "short Breakeven": 39980,
        "tp Close": 15,
        "tp1 Mult": 0.75,
        "tp2 Mult": 1.5,
        "passphrase": PASSPHRASE,
        "subaccount": "Testing",
    }
    for key, value in fields.items():
        key = (
            key.replace("_", " ") if key in {"long_SL", "long_TP", "short_SL", "short_TP"} else key
        )
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


class Client:
    """The aiohttp test client, checking that no answer ever carries a secret."""

    def __init__(self, client: TestClient) -> None:
        self.http = client

    @property
    def core(self):  # type: ignore[no-untyped-def]
        return self.http.server.app[CORE]

    async def post(
        self,
        path: str,
        body: dict[str, Any] | str | bytes,
        *,
        wait: float | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        data = json.dumps(body) if isinstance(body, dict) else body
        params = {"wait": str(wait)} if wait is not None else None
        response = await self.http.post(path, data=data, params=params, headers=headers)
        return await self._read(response)

    async def get(
        self, path: str, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        return await self._read(await self.http.get(path, headers=headers))

    async def _read(self, response: Any) -> tuple[int, dict[str, Any]]:
        text = await response.text()
        for secret in SECRETS:
            assert secret not in text, "a secret came back in an answer"
        body = json.loads(text)
        assert {"success", "status", "message"} <= set(body), body
        return response.status, body
