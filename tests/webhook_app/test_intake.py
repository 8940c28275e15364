"""Intake: every rejection rule, its HTTP status and the message that names the problem."""

from __future__ import annotations

import json

import pytest

from tests.helpers import ORDER, PASSPHRASE, Client, alert, fired
from webhook_app.intake.tradingview import classify_message, parse_tradingview
from webhook_app.models import AlertKind, OrderType, Side


def raw(text: str) -> str:
    return text


CASES = [
    # (case, body, status, message fragment)
    ("not json", "this is not json", 400, "not valid JSON: Expecting value at line 1 column 1"),
    (
        "unquoted placeholder",
        '{"ticker": {{ticker}}, "passphrase": "x"}',
        400,
        "is a {{placeholder}} unquoted?",
    ),
    ("not an object", "[1, 2]", 400, "must be a JSON object"),
    ("empty", "", 400, "body is empty"),
    ("bad utf-8", b'{"ticker": "\xff\xfe"}', 400, "not valid UTF-8"),
    ("duplicate keys", '{"ticker": "A", "ticker": "B"}', 400, "field 'ticker' appears twice"),
    (
        "NaN level",
        json.dumps(alert()).replace('"long SL": 39800', '"long SL": NaN'),
        400,
        "field 'long SL' is NaN: the plot had no value (na)",
    ),
    (
        "Infinity level",
        json.dumps(alert()).replace('"price": 40000', '"price": Infinity'),
        400,
        "field 'price' is Infinity",
    ),
    ("NaN as text", alert(**{"long TP": "NaN"}), 400, "field 'long TP' must be a finite number"),
    (
        "placeholder left",
        alert(**{"long SL": '{{plot("Long SL")}}'}),
        400,
        "field 'long SL' holds the unsubstituted placeholder {{plot(\"Long SL\")}}",
    ),
    (
        "placeholder in string",
        alert(ticker="{{ticker}}"),
        400,
        "unsubstituted placeholder {{ticker}}",
    ),
    ("price wrong type", alert(price="abc"), 400, "field 'price' must be a number, got 'abc'"),
    ("price boolean", alert(price=True), 400, "field 'price' must be a number, got boolean"),
    ("ticker wrong type", alert(ticker=42), 400, "field 'ticker' must be a string, got number"),
    ("negative price", alert(price=-5), 400, "field 'price' must be greater than 0"),
    ("huge number", alert(price=1e300), 400, "field 'price' is too large"),
    (
        "tiny number",
        json.dumps(alert()).replace('"price": 40000', '"price": 1E-999999'),
        400,
        "field 'price' is too small",
    ),
    (
        "overflowing stop",
        json.dumps(alert()).replace('"long SL": 39800', '"long SL": 5E-1000000'),
        400,
        "field 'long SL' is too small",
    ),
    ("missing ticker", alert(ticker=None), 400, "field 'ticker' is required"),
    ("missing message", alert(message=None), 400, "field 'message' is required"),
    ("missing action", alert(action=None), 400, "field 'action' is required"),
    (
        "bad action",
        alert(action="hold"),
        400,
        "field 'action' must be one of buy, sell, got 'hold'",
    ),
    ("bad type", alert(type="stop"), 400, "field 'type' must be one of market, limit"),
    ("blank type", alert(type=" "), 400, "field 'type' is empty; use one of market, limit"),
    (
        "deep nesting",
        alert(comment=[[[[[[[["deep"]]]]]]]]),  # 9 levels with the body itself
        400,
        "body is nested more than 8 levels deep",
    ),
    ("missing price", alert(price=None), 400, "field 'price' is required"),
    ("missing SL", alert(**{"long SL": None}), 400, "field 'long SL' is required for a buy entry"),
    (
        "missing short SL",
        alert(action="sell", **{"short SL": None}),
        400,
        "field 'short SL' is required for a sell entry",
    ),
    (
        "missing breakeven level",
        alert(message="tp1_breakeven", action="sell", **{"long Breakeven": None}),
        400,
        "field 'long Breakeven' is required",
    ),
    ("bad time", alert(time="yesterday"), 400, "field 'time' must be a time like"),
    (
        "tp Close missing",
        alert(**{"tp Close": None}),
        400,
        "field 'tp Close' is required with tpN Mult",
    ),
    (
        "SL wrong side long",
        alert(**{"long SL": 40100}),
        422,
        "long SL 40100 must be below the price 40000 for a buy entry",
    ),
    (
        "SL wrong side short",
        alert(action="sell", **{"short SL": 39900}),
        422,
        "short SL 39900 must be above the price 40000 for a sell entry",
    ),
    ("TP wrong side", alert(**{"long TP": 39000}), 422, "long TP 39000 must be above the price"),
    ("ladder over 100%", alert(**{"tp Close": 60}), 422, "the take-profits may close at most 100%"),
    (
        "unknown subaccount",
        alert(subaccount="Nope"),
        422,
        "unknown subaccount 'Nope' (configured: Testing)",
    ),
    ("unknown ticker", alert(ticker="BTC-USDT"), 422, "unknown ticker 'BTC-USDT'"),
]


@pytest.mark.parametrize(("case", "body", "status", "fragment"), CASES, ids=[c[0] for c in CASES])
async def test_rejection_table(
    client: Client, case: str, body: object, status: int, fragment: str
) -> None:
    code, answer = await client.post(ORDER, body)  # type: ignore[arg-type]
    assert (code, answer["success"]) == (status, False), answer
    assert answer["status"] == ("malformed" if status == 400 else "rejected")
    assert fragment in answer["message"], answer["message"]
    assert "alert_id" not in answer  # refused before journaling
    rows = await client.core.journal.query("SELECT COUNT(*) AS n FROM alerts")
    assert rows[0]["n"] == 0


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ("entry", AlertKind.ENTRY),
        ("Exit", AlertKind.EXIT),
        ("tp1_breakeven", AlertKind.BREAKEVEN),
        ("breakeven", AlertKind.BREAKEVEN),
        ("tp2", AlertKind.INFO),
        ("whatever", AlertKind.INFO),
    ],
)
def test_message_kinds(message: str, kind: AlertKind) -> None:
    assert classify_message(message) is kind


def test_parse_keeps_the_sides_levels_and_ladder() -> None:
    from decimal import Decimal as D

    parsed, warnings = parse_tradingview(
        json.loads(json.dumps(alert(type="limit", extra=1)), parse_float=D, parse_int=D)
    )
    assert parsed.side is Side.BUY and parsed.order_type is OrderType.LIMIT
    assert (parsed.stop_loss, parsed.take_profit) == (D(39800), D(41000))
    assert parsed.tp_mults == (D("0.75"), D("1.5")) and parsed.tp_close_pct == D(15)
    assert warnings == ["unknown field 'extra' ignored"]
    assert parsed.fired_at is not None and parsed.fired_at.tzinfo is not None


async def test_text_plain_body_is_read_whatever_the_content_type(client: Client) -> None:
    code, answer = await client.post(
        ORDER, json.dumps(alert()), wait=2.5, headers={"Content-Type": "text/plain"}
    )
    assert (code, answer["status"]) == (200, "executed")


def test_passphrase_constant_is_distinctive() -> None:
    assert len(PASSPHRASE) > 12


@pytest.mark.parametrize(
    ("seconds_ago", "status", "fragment"),
    [
        (65, 422, "stale: fired at"),
        (3600, 422, "(MAX_ALERT_AGE is 60 s): not traded"),
        (-30, 422, "s in the future"),
        (30, 202, ""),
        (-5, 202, ""),  # a clock a little ahead is tolerated
    ],
)
async def test_stale_and_future_alerts_are_refused(
    client: Client, seconds_ago: int, status: int, fragment: str
) -> None:
    code, answer = await client.post(ORDER, alert(time=fired(seconds_ago)))
    assert code == status and fragment in answer["message"], answer


async def test_an_alert_without_a_time_is_accepted_and_flagged(client: Client) -> None:
    code, answer = await client.post(ORDER, alert(time=None), wait=2.5)
    assert (code, answer["flags"]) == (200, ["no time in the alert: its age was not checked"])
