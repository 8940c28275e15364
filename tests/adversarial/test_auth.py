"""Wrong, missing, null and malformed secrets get the same answer on every route, and no secret
ever leaves: not in an answer, a log line, the journal or a message to Discord."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.fakes.discord_webhooks import FakeDiscordWebhooks
from tests.helpers import API_TOKEN, FMZ_ENV, PASSPHRASE, SECRETS, alert

BAD = {
    "wrong": "pass-wrong-0000",
    "missing": None,
    "null": "null",
    "number": 12345,
    "list": ["x"],
    "empty": "",
    "almost": PASSPHRASE[:-1],
    "longer": PASSPHRASE + "x",
}


def attempts() -> list[tuple[str, str, str, bytes, dict[str, str]]]:
    """(route, case, path, body, headers) for every alert route and every bad secret."""
    out = []
    for case, value in BAD.items():
        body = alert()
        if value is None:
            body.pop("passphrase")
        else:
            body["passphrase"] = None if value == "null" else value
        raw = json.dumps(body).encode()
        out.append(("order", case, "/tradingview-to-webhook-order", raw, {}))
        out.append(("study", case, "/tradingview-to-discord-study", raw, {}))
        signal = {
            "action": "openLong",
            "ticker": "BTCUSDT",
            "fixed": "0.1",
            "connectorName": "Testing",
        }
        if value is not None:
            signal["connectorToken"] = None if value == "null" else value
        out.append(("signal", case, "/webhook/signal", json.dumps(signal).encode(), {}))
        query = {} if value is None else {"passphrase": json.dumps(value).strip('"')}
        ib = '${"ticker":"BTCUSDT"}@Long entry buy! 0.1'
        out.append(("ib", case, f"/webhook/ib?{urlencode(query)}", ib.encode(), {}))
        fmz = {"access_key": FMZ_ENV["FMZ_ACCESS_KEY"], "method": "push", "type": "buy"}
        if value is not None:
            fmz["secret_key"] = json.dumps(value).strip('"')
        out.append(("fmz", case, f"/webhook/fmz?{urlencode(fmz)}", b"", {}))
        token = {} if value is None else {"Authorization": f"Bearer {value}"}
        out.append(("api", case, "/api/positions", b"", token))
    return out


@pytest.fixture
async def discord() -> AsyncIterator[FakeDiscordWebhooks]:
    fake = await FakeDiscordWebhooks(limit=100, period_s=1.0).start()
    yield fake
    await fake.close()


async def test_every_bad_secret_gets_the_same_answer(
    make_client: Any, discord: FakeDiscordWebhooks, figure: Any
) -> None:
    urls = {f"DISCORD_{c.upper()}_URL": discord.url(c) for c in ("study", "logs", "errors")}
    client = await make_client(**FMZ_ENV, **urls)
    answers: dict[str, set[tuple[int, str]]] = {}
    tried = 0
    for route, _case, path, body, headers in attempts():
        method = client.http.get if route == "api" else client.http.post
        response = await method(path, data=body, headers=headers)
        text = await response.text()
        assert all(secret not in text for secret in SECRETS)
        answers.setdefault(route, set()).add((response.status, text))
        tried += 1
    # A good one of each, so the fake Discord has real traffic to search too.
    await client.post("/tradingview-to-discord-study", alert(type="limit"))
    await client.post("/tradingview-to-webhook-order", alert(), wait=2.5)
    await discord.wait_for(lambda: len(discord.delivered("study")) >= 1)
    distinct = {route: len(seen) for route, seen in answers.items()}
    figure(
        "auth",
        f"{tried} bad secrets on {len(answers)} routes: distinct answers per route {distinct}",
    )
    assert all(count == 1 for count in distinct.values()), answers
    assert all(status == 401 for seen in answers.values() for status, _ in seen)
    traffic = b"".join(r.raw for r in discord.received)
    assert all(secret.encode() not in traffic for secret in (PASSPHRASE, API_TOKEN))
    rows = await client.core.journal.query("SELECT body, alert FROM alerts")
    assert rows and all(PASSPHRASE not in r["body"] + r["alert"] for r in rows)
