"""What each venue needs from ccxt's unified calls: client id, trigger, reduce-only and lookups."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..models import OrderType, Side

VENUES = ("binance", "bybit", "okx")


@dataclass(frozen=True)
class Recipe:
    venue: str
    market: str  # spot | futures
    ccxt_id: str
    options: dict[str, Any] = field(default_factory=dict)
    reduce_only: bool = True  # the venue takes reduceOnly (spot venues do not)
    attaches: frozenset[str] = frozenset()  # protection that rides on the entry itself
    amends_triggers: bool = True  # a stop's trigger can be moved in one request
    # Push streams on by default: those whose protocol and order model the tests exercise
    # (tests/fakes/ccxt_venues/user_stream.py). Elsewhere ccxt may stream too (stream = true),
    # e.g. OKX's algo orders, which fire into a child order on another channel, are not faked.
    streams: bool = False

    @property
    def spot(self) -> bool:
        return self.market == "spot"

    # --- create -----------------------------------------------------------------------------

    def create_params(
        self,
        *,
        client_id: str,
        type: OrderType,
        side: Side,
        trigger: Decimal | None,
        reduce_only: bool,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"clientOrderId": client_id}
        if reduce_only and self.reduce_only:
            params["reduceOnly"] = True
        if trigger is not None:
            key = "stopLossPrice" if type is OrderType.STOP else "takeProfitPrice"
            params[key] = float(trigger)
            if self.venue == "okx":  # its algo endpoint documents algoClOrdId for the client id
                params["algoClOrdId"] = params.pop("clientOrderId")
        return params

    def attach_params(self, stop: Decimal | None, take_profit: Decimal | None) -> dict[str, Any]:
        """Bybit stopLoss/takeProfit and OKX attachAlgoOrds: protection armed by the venue."""
        params: dict[str, Any] = {}
        if stop is not None:
            params["stopLoss"] = {"triggerPrice": float(stop)}
        if take_profit is not None:
            params["takeProfit"] = {"triggerPrice": float(take_profit)}
        return params

    # --- look-ups and cancels -----------------------------------------------------------------

    def lookups(self, client_id: str) -> list[tuple[str, dict[str, Any]]]:
        """How to find our order by client id: (ccxt method, params), tried in turn."""
        if self.venue == "bybit":  # fetch_order(None, …) sends orderId=None: list by link id
            return [
                ("fetch_open_orders", {"orderLinkId": client_id}),
                ("fetch_open_orders", {"orderLinkId": client_id, "trigger": True}),
            ]
        if self.venue == "okx":
            return [
                ("fetch_order", {"clientOrderId": client_id}),
                ("fetch_order", {"clientOrderId": client_id, "trigger": True}),
            ]
        if self.venue == "binance" and not self.spot:
            return [
                ("fetch_order", {"clientOrderId": client_id}),
                ("fetch_order", {"clientOrderId": client_id, "trigger": True}),
            ]
        return [("fetch_order", {"clientOrderId": client_id})]

    def open_order_lists(self) -> list[dict[str, Any]]:
        """The lists that together hold every open order (plain ones and triggers)."""
        if self.venue == "binance" and not self.spot:
            return [{}, {"trigger": True}]
        if self.venue == "okx":
            return [{}, {"trigger": True, "ordType": "conditional,oco"}]
        if self.venue == "bybit" and self.spot:
            return [{}, {"orderFilter": "tpslOrder"}]
        return [{}]

    def fetch_params(self, trigger: bool) -> dict[str, Any]:
        """fetch_order by venue id."""
        if self.venue == "bybit":  # ccxt asks to acknowledge that Bybit only sees recent orders
            params: dict[str, Any] = {"acknowledged": True}
            if trigger and self.spot:
                params["orderFilter"] = "tpslOrder"
            return params
        return (
            {"trigger": True}
            if trigger
            and self.venue in ("okx", "binance")
            and not (self.venue == "binance" and self.spot)
            else {}
        )

    def amend_type(self, trigger: bool, type: OrderType) -> str:
        """The ccxt order type edit_order needs to keep a trigger order what it is."""
        if not trigger:
            return "limit" if type is OrderType.LIMIT else "market"
        if self.venue == "okx":
            return "conditional"
        if self.venue == "binance" and self.spot:  # else cancelReplace sends a MARKET order
            return "TAKE_PROFIT" if type is OrderType.TAKE_PROFIT else "STOP_LOSS"
        return "market"

    def amend_params(
        self, trigger: bool, type: OrderType, level: Decimal | None, client_id: str
    ) -> dict[str, Any]:
        """edit_order's params for a trigger order (a plain order needs none)."""
        if not trigger or level is None:
            return {}
        key = "takeProfitPrice" if type is OrderType.TAKE_PROFIT else "stopLossPrice"
        if self.venue == "okx":  # amend-algos: ccxt wants the new order price too (-1: market)
            new_price = "newTpOrdPx" if type is OrderType.TAKE_PROFIT else "newSlOrdPx"
            return {key: float(level), new_price: "-1"}
        if self.venue == "binance":  # spot cancelReplace: a new order, which keeps our id
            return {"stopPrice": float(level), "clientOrderId": client_id}
        params: dict[str, Any] = {"triggerPrice": float(level)}
        if self.spot:
            params["orderFilter"] = "tpslOrder"
        return params

    def told_by_its_trigger(self, raw: dict[str, Any]) -> bool:
        """A pushed order that is only the execution of a stop or take-profit: its fill is the
        trigger order's, told with it, and must not be told twice. Binance USDⓈ-M gives every
        order a client id (its own when none is sent; liquidations `autoclose-…`), so one without
        is taken for the market order a fired algo order placed; see also spawned_order_id."""
        return self.spawns_orders and not raw.get("clientOrderId")

    @property
    def spawns_orders(self) -> bool:
        """A fired trigger order places an order of its own (Binance USDⓈ-M's algo orders)."""
        return self.venue == "binance" and not self.spot

    def spawned_order_id(self, raw: dict[str, Any]) -> str | None:
        """The order a fired trigger order placed, where the venue names it (Binance's
        ALGO_UPDATE `ai`): that order's news is the trigger order's."""
        if not self.spawns_orders:
            return None
        info = raw.get("info")
        spawned = info.get("ai") if isinstance(info, dict) else None
        return str(spawned) if spawned else None

    def cancel_params(self, trigger: bool) -> dict[str, Any]:
        if not trigger:
            return {}
        if self.venue == "bybit":
            return {"orderFilter": "tpslOrder"} if self.spot else {}
        return {"trigger": True}  # Binance futures algo, OKX algo


# Open orders of every symbol at once (start-up reconcile): allowed, at a higher request weight.
_BINANCE_ALL_SYMBOLS = {"warnOnFetchOpenOrdersWithoutSymbol": False}

RECIPES = {
    ("binance", "spot"): Recipe(
        "binance",
        "spot",
        "binance",
        {"defaultType": "spot", **_BINANCE_ALL_SYMBOLS},
        reduce_only=False,
    ),
    ("binance", "futures"): Recipe(
        "binance",
        "futures",
        "binanceusdm",
        {"defaultType": "future", **_BINANCE_ALL_SYMBOLS},
        amends_triggers=False,
        streams=True,
    ),
    ("bybit", "spot"): Recipe(
        "bybit",
        "spot",
        "bybit",
        {"defaultType": "spot", "enableUnifiedAccount": True, "enableUnifiedMargin": False},
        reduce_only=False,
    ),
    ("bybit", "futures"): Recipe(
        "bybit",
        "futures",
        "bybit",
        {
            "defaultType": "swap",
            "defaultSubType": "linear",
            "enableUnifiedAccount": True,
            "enableUnifiedMargin": False,
        },
        attaches=frozenset({"stop", "tp"}),
        streams=True,
    ),
    ("okx", "spot"): Recipe(
        "okx",
        "spot",
        "okx",
        {"defaultType": "spot", "createOrder": "privatePostTradeOrder"},
        reduce_only=False,
    ),
    ("okx", "futures"): Recipe(
        "okx",
        "futures",
        "okx",
        {"defaultType": "swap", "createOrder": "privatePostTradeOrder"},
        attaches=frozenset({"stop"}),
    ),
}
# Why these attach what they do:
# - Bybit linear arms stopLoss and takeProfit as two conditional orders, each cancellable alone.
# - OKX arms attachAlgoOrds as ONE algo order (an OCO when both legs are given): moving the stop
#   to breakeven would cancel the take-profit with it, so only the stop rides on the entry.
# - Spot: Bybit attaches only to limit orders and OKX's OCO would lock the coins the ladder
#   needs, so spot protection is a separate stop after the fill (features.spot).


def recipe_for(venue: str, market: str) -> Recipe:
    return RECIPES[(venue, market)]
