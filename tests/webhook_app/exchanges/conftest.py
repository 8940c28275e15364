"""A running app whose account trades on a loopback fake Binance, Bybit or OKX."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.ccxt_venues import FakeVenue
from tests.helpers import VENUE_KEYS, Client

PERP, SPOT = "BTC/USDT:USDT", "BTC/USDT"


def venue_account(venue: str, market: str, base_url: str, **extra: Any) -> str:
    """The accounts file of one account, Main, on the fake (keys by env var name)."""
    lines = [
        "[accounts.Main]",
        f'exchange = "{venue}"',
        f'market = "{market}"',
        "sandbox = false",
        "rate_limit = false",
        f'api_url = "{base_url}"',
        'api_key_env = "VENUE_KEY"',
        'api_secret_env = "VENUE_SECRET"',
        'api_password_env = "VENUE_PASSWORD"',
        "timeout_ms = 1000",
    ]
    if "poll_s" not in extra:
        lines.append("poll_s = 3600")  # the tests poll by hand
    for key, value in extra.items():
        lines.append(f"{key} = {json.dumps(value)}")  # TOML reads JSON's scalars
    return "\n".join(lines) + "\n"


@pytest.fixture
async def venue_app(
    make_client: Callable[..., Any], tmp_path: Path
) -> AsyncIterator[Callable[..., Any]]:
    fakes: list[FakeVenue] = []

    async def start(
        venue: str,
        market: str = "futures",
        *,
        fake: FakeVenue | None = None,
        streams: bool = False,
        env: dict[str, str] | None = None,
        **extra: Any,
    ) -> tuple[Client, FakeVenue]:
        """`streams`: the account listens to the fake's user stream (ws_url) as well."""
        fake = fake or FakeVenue(venue)
        if fake not in fakes:
            fakes.append(fake)
            await fake.start()
        if streams:
            extra["ws_url"] = fake.base_url.replace("http://", "ws://")
        accounts = tmp_path / "accounts.toml"
        accounts.write_text(venue_account(venue, market, fake.base_url, **extra))
        client = await make_client(ACCOUNTS_FILE=str(accounts), **VENUE_KEYS, **(env or {}))
        return client, fake

    yield start
    for fake in fakes:
        await fake.close()
