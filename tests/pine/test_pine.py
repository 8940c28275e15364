"""pinestrategies/*.pine against alertmodel.txt and the app (pynescript), and the study against
webhook_app/replay/signals.py on the bundled EURUSD bars (pinets, under Node)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from tests.helpers import PASSPHRASE, Client, fired
from tests.pine.paths import STRATEGY, STUDY, RunPinets
from tests.pine.pine_facts import AlertMessage, PineFacts
from webhook_app.alertmodel import (
    PASSPHRASE_PLACEHOLDER,
    Block,
    load_alertmodel,
    placeholders,
    plot_titles,
    substitute,
)
from webhook_app.config import Settings
from webhook_app.intake import TRADINGVIEW, TRADINGVIEW_STUDY, Dialect, Intake
from webhook_app.intake.tradingview import classify_message
from webhook_app.models import AlertKind
from webhook_app.replay import signals
from webhook_app.replay.bars import Bar

BLOCKS = load_alertmodel()
STUDY_ROUTE = "/tradingview-to-discord-study"
# alertcondition title -> alertmodel.txt block
STUDY_BLOCKS = {"Long": "study-long", "Short": "study-short"}
LEVEL_PLOTS = (
    "Long SL",
    "Long TP",
    "Short SL",
    "Short TP",
    "Long Breakeven",
    "Short Breakeven",
    "TP Close",
    "TP1 Mult",
    "TP2 Mult",
)
REL_TOL = 1e-9
OTHER_PARAMS = signals.Params(
    ema_len=50,
    rsi_len=9,
    atr_len=21,
    oversold=35.0,
    overbought=65.0,
    sl_mult=2.0,
    tp_mult=4.0,
    be_fee_pct=0.1,
)


def _is_strategy_template(block: Block) -> bool:
    return any(p.startswith("strategy.") for p in placeholders(block.template))


def _templates_reading_plots() -> dict[str, str]:
    """Every alertmodel.txt block whose template reads a plot -> "study" or "strategy"."""
    kinds = {}
    for block in BLOCKS.values():
        if not plot_titles(block.template):
            continue
        if block.path == STUDY_ROUTE:
            kinds[block.name] = "study"
        elif _is_strategy_template(block):
            kinds[block.name] = "strategy"
        else:
            raise AssertionError(f"{block.name}: reads plots but is neither study nor strategy")
    return kinds


def read(dialect: Dialect, body: str, settings: Settings) -> Intake:
    """The app's intake of one body (decode, authenticate, validate), with no warnings."""
    intake = dialect.parse(dialect.open(body.encode(), {}, settings), settings)
    assert intake.warnings == [], intake.warnings
    return intake


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


# ---------------------------------------------------------------- static checks (pynescript)
def test_declarations(pine: dict[str, PineFacts]) -> None:
    study, strat = pine["study"], pine["strategy"]
    assert (study.declaration, study.version, study.overlay) == ("indicator", "5", True)
    assert (strat.declaration, strat.version, strat.overlay) == ("strategy", "5", True)


@pytest.mark.parametrize("script", ["study", "strategy"])
def test_level_plots_are_hidden_and_ema_visible(pine: dict[str, PineFacts], script: str) -> None:
    plots = pine[script].plots
    for title in LEVEL_PLOTS:
        assert plots.get(title) == "display.none", title
    assert "EMA" in plots and plots["EMA"] is None, "the EMA is plotted visibly"


def test_every_template_plot_exists_in_its_script(pine: dict[str, PineFacts]) -> None:
    kinds = _templates_reading_plots()
    assert {"strategy-basic", "strategy-multi-tp", *STUDY_BLOCKS.values()} <= set(kinds)
    for name, kind in kinds.items():
        missing = set(plot_titles(BLOCKS[name].template)) - set(pine[kind].plots)
        assert not missing, f"{name}: {sorted(missing)} not plotted in the {kind} script"


def test_alertconditions_carry_the_study_templates(pine: dict[str, PineFacts]) -> None:
    study_blocks = {b.name for b in BLOCKS.values() if b.path == STUDY_ROUTE}
    assert study_blocks == set(STUDY_BLOCKS.values())
    conds = pine["study"].alertconditions
    assert [c["title"] for c in conds] == list(STUDY_BLOCKS)
    for cond in conds:
        assert cond["named_args"] == [], "pinets needs positional alertcondition arguments"
        assert cond["message"] == BLOCKS[STUDY_BLOCKS[cond["title"]]].template, cond["title"]
    assert pine["study"].alert_messages == [], "the study places no orders"


def _expected_kinds(msg: AlertMessage) -> set[AlertKind]:
    """What a strategy's alert_* argument must mean to the app, from the order it rides on."""
    if msg.func in ("strategy.entry", "strategy.order"):
        return {AlertKind.ENTRY}
    if msg.func != "strategy.exit" or msg.param in ("alert_loss", "alert_trailing"):
        return {AlertKind.EXIT}  # strategy.close(_all), or a stop that filled
    if not msg.partial:
        return {AlertKind.EXIT}  # the exit that closes what is left
    return {AlertKind.BREAKEVEN, AlertKind.INFO}  # a take-profit leg: move the stop, or inform


def test_strategy_alert_messages_are_understood_by_the_app(pine: dict[str, PineFacts]) -> None:
    msgs = pine["strategy"].alert_messages
    assert msgs, "the strategy sends no alert_message"
    for msg in msgs:
        assert isinstance(msg.value, str), f"{msg.func} {msg.param} is not a literal: {msg.value}"
        kind = classify_message(msg.value)  # the app's own reading of "message"
        assert kind in _expected_kinds(msg), (msg, kind)
        if msg.partial and msg.param == "alert_message" and msg.has_stop:
            # else a stop-out of the leg would send its take-profit message
            assert any(m.line == msg.line and m.param == "alert_loss" for m in msgs), msg
    kinds = {classify_message(m.value) for m in msgs}
    assert {AlertKind.ENTRY, AlertKind.EXIT, AlertKind.BREAKEVEN} <= kinds


# A long at 1.1: the levels an alert of the strategy-multi-tp template could carry.
STRATEGY_VALUES = {
    "ticker": "EURUSD",
    "exchange": "FX",
    'plot("Long SL")': 1.097,
    'plot("Long TP")': 1.105,
    'plot("Short SL")': 1.103,
    'plot("Short TP")': 1.095,
    'plot("Long Breakeven")': 1.1,
    'plot("Short Breakeven")': 1.1,
    'plot("TP Close")': 15,
    'plot("TP1 Mult")': 0.75,
    'plot("TP2 Mult")': 1.5,
    "strategy.order.price": 1.1,
    "strategy.order.id": "Long",
}


@pytest.mark.parametrize("side", ["long", "short"])
def test_strategy_messages_parse_in_the_multi_tp_template(
    pine: dict[str, PineFacts], settings: Settings, side: str
) -> None:
    """Each message, in the template the strategy's comments point to, passes the app's intake."""
    opening, closing = ("buy", "sell") if side == "long" else ("sell", "buy")
    for message in sorted({m.value for m in pine["strategy"].alert_messages}):
        action = opening if classify_message(message) is AlertKind.ENTRY else closing
        values = {
            **STRATEGY_VALUES,
            "timenow": fired(),
            "strategy.order.action": action,
            "strategy.order.alert_message": message,
        }
        text = substitute(BLOCKS["strategy-multi-tp"].template, values)
        text = text.replace(PASSPHRASE_PLACEHOLDER, PASSPHRASE)
        assert "{{" not in text, text
        intake = read(TRADINGVIEW, text, settings)
        alert = intake.alert
        assert (alert.kind, alert.message) == (classify_message(message), message)


@pytest.mark.parametrize("script", ["study", "strategy"])
def test_inputs_match_the_python_port(pine: dict[str, PineFacts], script: str) -> None:
    defaults = signals.Params()
    expected = {title: getattr(defaults, f) for f, title in signals.INPUT_TITLES.items()}
    assert pine[script].inputs == expected


# ---------------------------------------------------------------- runtime parity (pinets)
def parity(run: dict[str, Any], ours: list[signals.BarSignal]) -> dict[str, Any]:
    """Compare a pinets run of the study with signals.compute; returns the figures."""
    assert run["bars"] == len(ours)
    fired_at = {t: [a["bar_index"] for a in run["alerts"] if a["title"] == t] for t in STUDY_BLOCKS}
    assert fired_at["Long"] == [s.index for s in ours if s.long_signal]
    assert fired_at["Short"] == [s.index for s in ours if s.short_signal]
    assert len(run["alerts"]) == len(fired_at["Long"]) + len(fired_at["Short"])
    worst: dict[str, float] = {}
    for title, attr in (
        ("Long SL", "long_sl"),
        ("Long TP", "long_tp"),
        ("Short SL", "short_sl"),
        ("Short TP", "short_tp"),
        ("Long Breakeven", "long_breakeven"),
        ("Short Breakeven", "short_breakeven"),
    ):
        got = run["plots"][title]
        assert [v is None for v in got] == [getattr(s, attr) is None for s in ours], title
        pairs = [(g, getattr(s, attr)) for g, s in zip(got, ours, strict=True) if g is not None]
        worst[title] = max(_rel(g, r) for g, r in pairs)
        assert worst[title] <= REL_TOL, title
    for title, attr in (("EMA", "ema"), ("RSI", "rsi"), ("ATR", "atr")):
        got = run["plots"][title]
        assert [v is None for v in got] == [getattr(s, attr) is None for s in ours], title
        # pinets rounds ta.* results to 10 decimals, so these compare absolutely
        worst[title] = max(
            abs(g - getattr(s, attr)) for g, s in zip(got, ours, strict=True) if g is not None
        )
        assert worst[title] <= 1e-9, title
    return {"long": len(fired_at["Long"]), "short": len(fired_at["Short"]), "worst": worst}


def alert_body(run: dict[str, Any], alert: dict[str, Any], bar: Bar) -> str:
    """The alert's message as TradingView would send it from that bar."""
    i = alert["bar_index"]
    values: dict[str, object] = {f'plot("{t}")': run["plots"][t][i] for t in run["plots"]}
    values.update(ticker="EURUSD", exchange="FX", interval="60", timenow=fired(), close=bar.close)
    text = substitute(alert["message"], values).replace(PASSPHRASE_PLACEHOLDER, PASSPHRASE)
    assert "{{" not in text and "<your" not in text, text
    return text


def check_payloads(run: dict[str, Any], bars: list[Bar], settings: Settings) -> list[str]:
    """Every alert is its template, and once substituted a study entry the intake accepts."""
    bodies = []
    for alert in run["alerts"]:
        assert alert["message"] == BLOCKS[STUDY_BLOCKS[alert["title"]]].template
        body = alert_body(run, alert, bars[alert["bar_index"]])
        payload = json.loads(body)
        side = alert["title"].lower()
        price, sl, tp = payload["price"], payload[f"{side} SL"], payload[f"{side} TP"]
        assert all(isinstance(v, float) and math.isfinite(v) for v in (price, sl, tp)), payload
        parsed = read(TRADINGVIEW_STUDY, body, settings).alert
        assert (parsed.kind, parsed.side and parsed.side.direction) == (AlertKind.ENTRY, side)
        bodies.append(body)
    return bodies


def test_study_parity_default_inputs(
    study_run: dict[str, Any], bars: list[Bar], settings: Settings
) -> None:
    ours = signals.compute(bars)
    figures = parity(study_run, ours)
    print(f"\nparity (defaults): {len(bars)} bars, {figures}, pinets {study_run['seconds']:.2f} s")
    assert figures["long"] >= 10 and figures["short"] >= 10
    warm = next(s.index for s in ours if s.long_sl is not None)
    assert warm == signals.Params().atr_len - 1
    assert all(v is not None for v in study_run["plots"]["Long SL"][warm:])
    check_payloads(study_run, bars, settings)


def test_study_parity_other_inputs_by_title(
    run_pinets: RunPinets, bars: list[Bar], settings: Settings
) -> None:
    inputs = {title: getattr(OTHER_PARAMS, f) for f, title in signals.INPUT_TITLES.items()}
    assert inputs != {t: getattr(signals.Params(), f) for f, t in signals.INPUT_TITLES.items()}
    run = run_pinets(STUDY, inputs)
    figures = parity(run, signals.compute(bars, OTHER_PARAMS))
    print(f"\nparity (other inputs): {len(bars)} bars, {figures}, pinets {run['seconds']:.2f} s")
    assert figures["long"] >= 10 and figures["short"] >= 10
    check_payloads(run, bars, settings)


async def test_study_alerts_are_accepted_by_the_study_route(
    make_client: Any, study_run: dict[str, Any], bars: list[Bar], settings: Settings
) -> None:
    """Every alert the study fires on the bars, posted as TradingView would: pending approval."""
    client: Client = await make_client()
    path = BLOCKS["study-long"].path
    assert path == BLOCKS["study-short"].path == STUDY_ROUTE
    bodies = check_payloads(study_run, bars, settings)
    assert len(bodies) >= 20
    ids = set()
    for body in bodies:
        code, answer = await client.post(path, body)
        assert (code, answer["status"], answer["success"]) == (202, "pending_approval", True), (
            body,
            answer,
        )
        ids.add(answer["alert_id"])
    assert len(ids) == len(bodies), "two alerts taken as one"
    await client.core.poster.close()  # let the relays (to the log: no Discord URL) finish


def test_strategy_runs_in_pinets(run_pinets: RunPinets) -> None:
    run = run_pinets(STRATEGY)
    trades = run["strategy"]["closedtrades"]
    by_entry: dict[int, list[dict]] = {}
    for t in trades:
        by_entry.setdefault(t["entry_bar_index"], []).append(t)
    assert len(by_entry) >= 20
    suffixes = {t["exit_id"].split(" ", 1)[-1] for t in trades}
    assert suffixes <= {"TP1", "TP2", "Final", "close_Long", "close_Short"}, suffixes
    moved = 0
    for legs in by_entry.values():
        tp1 = [t for t in legs if t["exit_id"].endswith("TP1") and t["profit"] > 0]
        after = tp1[0]["exit_bar_index"] if tp1 else math.inf
        later = [
            t
            for t in legs
            if t["exit_id"].endswith(("TP2", "Final")) and t["exit_bar_index"] > after
        ]
        moved += bool(later)
        assert all(t["profit"] >= -1e-6 for t in later), "stop not at breakeven after TP1"
    assert moved >= 5
    print(f"\nstrategy: {len(by_entry)} trades, {len(trades)} fills, {run['seconds']:.2f} s")
