"""Planning: sizing, caps, rounding, the TP ladder, exit and breakeven. Numbers worked by hand."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from webhook_app.config import Account
from webhook_app.errors import AlertRejected
from webhook_app.exchanges.base import Market, Order
from webhook_app.models import Alert, AlertKind, CancelOrder, OrderType, PlaceOrder, Side
from webhook_app.planning import Facts, plan_alert, resize_for_fill

BTC = Market("BTCUSDT", amount_step=D("0.001"), price_tick=D("0.1"), min_amount=D("0.001"))


def entry(
    side: Side = Side.BUY,
    price: str = "40000",
    sl: str = "39800",
    tp: str | None = "41000",
    **kw: object,
) -> Alert:
    return Alert(
        kind=AlertKind.ENTRY,
        ticker="BTCUSDT",
        side=side,
        price=D(price),
        stop_loss=D(sl),
        take_profit=D(tp) if tp else None,
        message="entry",
        **kw,
    )


def facts(equity: str = "10000", market: Market = BTC, **kw: object) -> Facts:
    return Facts(market=market, equity=D(equity), **kw)


ACCOUNT = Account(name="Testing")


def placed(plan, role: str) -> PlaceOrder:  # type: ignore[no-untyped-def]
    return next(s for s in plan.steps if isinstance(s, PlaceOrder) and s.role == role)


# Size = equity × risk / |price − SL|, then caps, then floor to the step. Worked out by hand:
@pytest.mark.parametrize(
    ("case", "account", "alert", "market", "expected"),
    [
        # 10,000 × 1 % = 100 at risk; 100 / 200 = 0.5
        ("basic long", ACCOUNT, entry(), BTC, "0.5"),
        # mirror: short at 40,000 with the stop at 40,200
        ("short mirror", ACCOUNT, entry(Side.SELL, sl="40200", tp="39000"), BTC, "0.5"),
        # 100 / 10 = 10 BTC = 400,000 notional; leverage 10 caps at 100,000 / 40,000 = 2.5
        ("leverage cap", ACCOUNT, entry(sl="39990"), BTC, "2.5"),
        # max notional 5,000 → 5,000 / 40,000 = 0.125
        ("notional cap", Account("N", max_notional=D("5000")), entry(), BTC, "0.125"),
        # 100 / 300 = 0.3333… floored to the 0.01 step = 0.33
        (
            "step rounding",
            ACCOUNT,
            entry(sl="39700"),
            Market("BTCUSDT", D("0.01"), None, D("0.01")),
            "0.33",
        ),
        # risk 0.5 % lowers the account's 1 %: 50 / 200 = 0.25
        ("risk override", ACCOUNT, entry(risk_pct=D("0.5")), BTC, "0.25"),
        # up to max_risk_pct when the account allows more: 200 / 200 = 1
        ("risk cap raised", Account("R", max_risk_pct=D("2")), entry(risk_pct=D("2")), BTC, "1"),
        # a fixed amount (dialects) wins over risk sizing
        ("fixed amount", ACCOUNT, entry(amount=D("0.2")), BTC, "0.2"),
    ],
)
def test_entry_size(
    case: str, account: Account, alert: Alert, market: Market, expected: str
) -> None:
    plan = plan_alert(alert, account, facts(market=market))
    assert plan.size == D(expected), case
    assert placed(plan, "entry").amount == D(expected)
    assert placed(plan, "stop").amount == D(expected)


def test_entry_below_minimum_is_refused_with_the_figures() -> None:
    # 100 × 1 % = 1 at risk; 1 / 200 = 0.005 < the 0.01 minimum
    market = Market("BTCUSDT", D("0.01"), None, D("0.01"))
    with pytest.raises(AlertRejected, match=r"size 0 BTCUSDT is below the minimum 0.01"):
        plan_alert(entry(), ACCOUNT, facts(equity="100", market=market))


def test_entry_with_no_equity_is_refused() -> None:
    with pytest.raises(AlertRejected, match="equity"):
        plan_alert(entry(), ACCOUNT, facts(equity="0"))


def test_take_profit_ladder_prices_and_sizes_sum_to_the_position() -> None:
    # R = 200. TP1 = 40,000 + 200 × 0.75 = 40,150; TP2 = 40,000 + 200 × 1.5 = 40,300.
    # Each closes 15 % of 0.5 = 0.075; the final TP at 41,000 takes 0.5 − 0.15 = 0.35.
    alert = entry(tp_close_pct=D("15"), tp_mults=(D("0.75"), D("1.5")))
    plan = plan_alert(alert, ACCOUNT, facts())
    tps = {s.role: s for s in plan.steps if isinstance(s, PlaceOrder) and s.role.startswith("tp")}
    assert (tps["tp1"].trigger_price, tps["tp1"].amount) == (D("40150"), D("0.075"))
    assert (tps["tp2"].trigger_price, tps["tp2"].amount) == (D("40300"), D("0.075"))
    assert (tps["tp"].trigger_price, tps["tp"].amount) == (D("41000"), D("0.35"))
    assert sum(t.amount for t in tps.values()) == plan.size
    assert all(t.reduce_only and t.side is Side.SELL for t in tps.values())


def test_ladder_rounds_each_tp_down_and_the_final_takes_the_rest() -> None:
    # size 0.33 (step 0.01); 15 % = 0.0495 → 0.04 each; final = 0.33 − 0.08 = 0.25
    market = Market("BTCUSDT", D("0.01"), None, D("0.01"))
    alert = entry(sl="39700", tp_close_pct=D("15"), tp_mults=(D("1"), D("2")))
    plan = plan_alert(alert, ACCOUNT, facts(market=market))
    amounts = {
        s.role: s.amount
        for s in plan.steps
        if isinstance(s, PlaceOrder) and s.role.startswith("tp")
    }
    assert amounts == {"tp1": D("0.04"), "tp2": D("0.04"), "tp": D("0.25")}


def test_ladder_that_closes_everything_leaves_no_final_tp() -> None:
    alert = entry(tp_close_pct=D("50"), tp_mults=(D("1"), D("2")))
    plan = plan_alert(alert, ACCOUNT, facts())
    roles = [s.role for s in plan.steps if isinstance(s, PlaceOrder)]
    assert "tp" not in roles and roles.count("tp1") == roles.count("tp2") == 1


def test_rounding_dust_goes_to_the_last_rung_not_to_an_order_of_its_own() -> None:
    # size 0.333 (100 / 300); 50 % = 0.1665 → 0.166 per rung; the 0.001 left is rounding
    alert = entry(sl="39700", tp_close_pct=D("50"), tp_mults=(D("1"), D("2")))
    plan = plan_alert(alert, ACCOUNT, facts())
    amounts = {s.role: s.amount for s in plan.steps if isinstance(s, PlaceOrder)}
    assert "tp" not in amounts and (amounts["tp1"], amounts["tp2"]) == (D("0.166"), D("0.167"))
    # Below the venue's minimum, a final TP's share joins the last rung too.
    market = Market("BTCUSDT", D("0.001"), D("0.1"), D("0.01"))
    short = entry(sl="39700", tp_close_pct=D("49"), tp_mults=(D("1"), D("2")))
    amounts = {
        s.role: s.amount
        for s in plan_alert(short, ACCOUNT, facts(market=market)).steps
        if isinstance(s, PlaceOrder)
    }
    assert "tp" not in amounts and amounts["tp1"] + amounts["tp2"] == amounts["entry"]


def test_short_ladder_mirrors_below_the_entry() -> None:
    alert = entry(Side.SELL, sl="40200", tp="39000", tp_close_pct=D("20"), tp_mults=(D("1"),))
    plan = plan_alert(alert, ACCOUNT, facts())
    assert placed(plan, "tp1").trigger_price == D("39800")  # 40,000 − 200 × 1
    assert placed(plan, "tp1").side is Side.BUY
    assert placed(plan, "stop").trigger_price == D("40200")


def test_placement_order_stop_first_then_entry_then_take_profits() -> None:
    plan = plan_alert(entry(tp_close_pct=D("15"), tp_mults=(D("1"),)), ACCOUNT, facts())
    roles = [(s.role, s.phase) for s in plan.steps]
    assert roles == [("stop", 1), ("entry", 1), ("tp", 2), ("tp1", 2)]
    stop = placed(plan, "stop")
    assert stop.type is OrderType.STOP and stop.reduce_only and stop.side is Side.SELL


def test_entry_closes_an_existing_position_and_cancels_its_orders_first() -> None:
    old_stop = Order(
        "P1",
        "x",
        "BTCUSDT",
        Side.BUY,
        OrderType.STOP,
        D("1"),
        trigger_price=D("41000"),
        reduce_only=True,
    )
    plan = plan_alert(entry(), ACCOUNT, facts(position=D("-1"), open_orders=(old_stop,)))
    first = [s for s in plan.steps if s.phase == 0]
    assert first[0] == PlaceOrder("close", Side.BUY, OrderType.MARKET, D("1"), reduce_only=True)
    assert first[1] == CancelOrder("cancel", order_id="P1", client_id="x", phase=0)


def test_limit_entry_defers_its_protection_until_the_fill() -> None:
    plan = plan_alert(entry(order_type=OrderType.LIMIT), ACCOUNT, facts())
    assert placed(plan, "entry").price == D("40000")
    assert placed(plan, "stop").after_fill and placed(plan, "tp").after_fill


def test_exit_closes_reduce_only_then_cancels_that_symbol_only() -> None:
    exit_alert = Alert(kind=AlertKind.EXIT, ticker="BTCUSDT", side=Side.SELL, message="exit")
    plan = plan_alert(exit_alert, ACCOUNT, facts(position=D("0.425")))
    close, cancel = plan.steps
    assert close == PlaceOrder("close", Side.SELL, OrderType.MARKET, D("0.425"), reduce_only=True)
    assert cancel == CancelOrder("cancel_all", phase=1)
    assert plan.symbol == "BTCUSDT"


def test_exit_without_position_still_sweeps_the_symbol() -> None:
    exit_alert = Alert(kind=AlertKind.EXIT, ticker="BTCUSDT", message="exit")
    plan = plan_alert(exit_alert, ACCOUNT, facts())
    assert plan.steps == (CancelOrder("cancel_all", phase=1),)
    assert "no open position" in plan.notes[0]


def be_alert(level: str = "40020") -> Alert:
    return Alert(
        kind=AlertKind.BREAKEVEN,
        ticker="BTCUSDT",
        side=Side.SELL,
        breakeven=D(level),
        message="tp1_breakeven",
    )


def test_breakeven_places_the_new_stop_then_cancels_the_old_one() -> None:
    old = Order(
        "P7",
        "a1sl",
        "BTCUSDT",
        Side.SELL,
        OrderType.STOP,
        D("0.5"),
        trigger_price=D("39800"),
        reduce_only=True,
    )
    tp = Order(
        "P8",
        "a1tp",
        "BTCUSDT",
        Side.SELL,
        OrderType.TAKE_PROFIT,
        D("0.35"),
        trigger_price=D("41000"),
        reduce_only=True,
    )
    plan = plan_alert(
        be_alert(),
        ACCOUNT,
        facts(position=D("0.425"), last_price=D("40160"), open_orders=(old, tp)),
    )
    new, cancel = plan.steps
    # sized to the position now (after TP1), not the original 0.5
    assert new == PlaceOrder(
        "be_stop",
        Side.SELL,
        OrderType.STOP,
        D("0.425"),
        trigger_price=D("40020"),
        reduce_only=True,
        phase=0,
    )
    assert cancel == CancelOrder("cancel_stop", order_id="P7", client_id="a1sl", phase=1)


def test_breakeven_without_position_does_nothing() -> None:
    plan = plan_alert(be_alert(), ACCOUNT, facts())
    assert plan.steps == () and "no open position" in plan.notes[0]


@pytest.mark.parametrize(
    ("position", "last", "message"),
    [
        ("0.5", "40000", "already through the market"),  # long, level 40,020 above 40,000
        ("-0.5", "40000", "but the BTCUSDT position is short"),
    ],
)
def test_breakeven_refusals(position: str, last: str, message: str) -> None:
    with pytest.raises(AlertRejected, match=message):
        plan_alert(be_alert(), ACCOUNT, facts(position=D(position), last_price=D(last)))


def test_informational_alert_plans_nothing() -> None:
    info = Alert(kind=AlertKind.INFO, ticker="BTCUSDT", message="tp2")
    assert plan_alert(info, ACCOUNT, facts()).steps == ()


def test_partial_fill_resizes_stop_and_ladder_with_the_final_tp_taking_the_rest() -> None:
    alert = entry(tp_close_pct=D("15"), tp_mults=(D("0.75"), D("1.5")))
    plan = plan_alert(alert, ACCOUNT, facts())
    protection = [s for s in plan.steps if isinstance(s, PlaceOrder) and s.role != "entry"]
    resized = {s.role: s.amount for s in resize_for_fill(protection, D("0.5"), D("0.2"), BTC)}
    # 0.075 × 0.2 / 0.5 = 0.03 each; the final TP takes 0.2 − 0.06 = 0.14
    assert resized == {"stop": D("0.2"), "tp1": D("0.03"), "tp2": D("0.03"), "tp": D("0.14")}


def test_an_alert_cannot_risk_more_than_the_account_allows() -> None:
    with pytest.raises(AlertRejected, match=r"risk 2% is above account Testing's maximum 1%"):
        plan_alert(entry(risk_pct=D("2")), ACCOUNT, facts())


async def test_an_exit_whose_first_sweep_fails_says_the_position_was_not_closed() -> None:
    """Without reduce-only orders the sweep goes first: when it fails, nothing was closed, and
    the answer must not say it was."""
    from types import SimpleNamespace

    from webhook_app.errors import ExecutionError
    from webhook_app.exchanges.base import Features
    from webhook_app.placement import PlanRun
    from webhook_app.planning.exits import plan_exit

    class Venue:
        features = Features(reduce_only=False)

        async def cancel_all_orders(self, symbol: str | None) -> list[Order]:
            raise ExecutionError("venue timeout")

        async def create_order(self, *args: object, **kwargs: object) -> Order:
            raise AssertionError("the close must not be sent with the orders still there")

    market = Market("BTCUSDT", D("0.001"), D("0.1"), D("0.001"))
    facts = Facts(
        market=market,
        equity=D(1000),
        last_price=D(100),
        position=D(1),
        features=Venue.features,
    )
    plan = plan_exit(Alert(AlertKind.EXIT, "BTCUSDT"), Account(name="A"), facts)
    venue = SimpleNamespace(exchange=Venue(), book=SimpleNamespace(note_order=lambda o: None))
    outcome = await PlanRun(None, venue, market, "a" * 16, plan).run()  # type: ignore[arg-type]
    assert outcome.status == "failed"
    assert outcome.message.startswith("the position was NOT closed: cancelling BTCUSDT's")
