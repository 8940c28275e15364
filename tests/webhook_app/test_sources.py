"""Source controls (all off by default): the IP allowlist with TradingView's preset, the sender's
address through trusted proxies only, and the per-address limit on failed authentications."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from tests.helpers import API_TOKEN, ORDER, alert, make_settings
from webhook_app.addresses import TRADINGVIEW_IPS, parse_networks
from webhook_app.errors import ConfigError
from webhook_app.web.sources import FAIL_WINDOW_S, SourceControls

TV = TRADINGVIEW_IPS[0]
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


def test_networks_parse_with_the_tradingview_preset(tmp_path: Any) -> None:
    networks = parse_networks("IP_ALLOWLIST", "tradingview, 10.0.0.0/8 ,2001:db8::1")
    assert networks is not None and len(networks) == 6
    assert ipaddress.ip_network("10.0.0.0/8") in networks
    assert parse_networks("IP_ALLOWLIST", "  ") is None  # off
    with pytest.raises(ConfigError, match=r"IP_ALLOWLIST: '10.0.0.300' is not an IP address"):
        make_settings(tmp_path, IP_ALLOWLIST="10.0.0.300")
    with pytest.raises(ConfigError, match="AUTH_FAIL_LIMIT"):
        make_settings(tmp_path, AUTH_FAIL_LIMIT="-1")
    settings = make_settings(tmp_path)
    assert (settings.ip_allowlist, settings.trusted_proxies, settings.auth_fail_limit) == (
        None,
        None,
        0,
    )


async def test_the_allowlist_refuses_other_senders_on_the_alert_routes_only(
    make_client: Any,
) -> None:
    client = await make_client(IP_ALLOWLIST="tradingview")  # the test client is 127.0.0.1
    code, answer = await client.post(ORDER, alert())
    assert (code, answer["status"]) == (403, "forbidden")
    assert "IP_ALLOWLIST" in answer["message"]
    assert await client.core.journal.query("SELECT id FROM alerts") == []
    code, _ = await client.post(ORDER, alert(), headers={"X-Forwarded-For": TV})
    assert code == 403  # no trusted proxy: the header is the sender's word, not a fact
    assert (await client.get("/api/positions", headers=AUTH))[0] == 200  # the bot's API
    assert (await client.get("/health"))[0] == 200


async def test_behind_a_trusted_proxy_the_forwarded_address_counts(make_client: Any) -> None:
    client = await make_client(IP_ALLOWLIST="tradingview", TRUSTED_PROXIES="127.0.0.1")
    code, answer = await client.post(ORDER, alert(), headers={"X-Forwarded-For": TV})
    assert code == 202, answer
    # A sender that writes TradingView's address itself: the proxy appends the real one.
    spoofed = {"X-Forwarded-For": f"{TV}, 203.0.113.9"}
    assert (await client.post(ORDER, alert(comment="b"), headers=spoofed))[0] == 403
    through_two = {"X-Forwarded-For": f"{TV}, 127.0.0.1"}  # two proxies of ours
    assert (await client.post(ORDER, alert(comment="c"), headers=through_two))[0] == 202


async def test_failed_authentications_lock_an_address_out(make_client: Any) -> None:
    client = await make_client(AUTH_FAIL_LIMIT="3", TRUSTED_PROXIES="127.0.0.1")
    attacker = {"X-Forwarded-For": "203.0.113.9"}
    wrong = alert(passphrase="guess")
    codes = [(await client.post(ORDER, wrong, headers=attacker))[0] for _ in range(3)]
    assert codes == [401, 401, 401]
    code, answer = await client.post(ORDER, alert(), headers=attacker)  # even the right one
    assert (code, answer["status"]) == (429, "too_many_requests")
    assert "too many failed authentications" in answer["message"]
    bad_token = {**attacker, "Authorization": "Bearer nope"}
    assert (await client.get("/api/positions", headers=bad_token))[0] == 429
    # Another address is not affected.
    code, _ = await client.post(ORDER, alert(), headers={"X-Forwarded-For": "198.51.100.4"})
    assert code == 202


async def test_allowlisted_senders_are_never_locked_out(make_client: Any) -> None:
    """TradingView's addresses carry every user's alerts: strangers' bad passphrases sent through
    TradingView must not block ours."""
    client = await make_client(
        IP_ALLOWLIST="tradingview", TRUSTED_PROXIES="127.0.0.1", AUTH_FAIL_LIMIT="2"
    )
    via_tv = {"X-Forwarded-For": TV}
    for _ in range(5):
        assert (await client.post(ORDER, alert(passphrase="guess"), headers=via_tv))[0] == 401
    assert (await client.post(ORDER, alert(), headers=via_tv))[0] == 202


def test_a_lockout_ends_when_the_window_has_passed() -> None:
    now = [1000.0]
    controls = SourceControls(None, None, 2, clock=lambda: now[0])
    controls._failed("203.0.113.9")
    controls._failed("203.0.113.9")
    assert controls._blocked("203.0.113.9")
    now[0] += FAIL_WINDOW_S + 1
    assert not controls._blocked("203.0.113.9")
