"""The narrow part of ib_async's `IB` the adapter uses: the boundary a test fake stands in for.

Only members `ib_async.IB` (2.1.0) has, with its signatures, so `IB()` satisfies it unchanged.
No blocking call is here: those run `loop.run_until_complete` and fail inside the event loop.
`placeOrder` and `cancelOrder` only send; what happened arrives later, as events and statuses.
"""

from __future__ import annotations

from typing import Any, Protocol


class IBClient(Protocol):
    connectedEvent: Any  # ()
    disconnectedEvent: Any  # ()
    orderStatusEvent: Any  # (trade)
    execDetailsEvent: Any  # (trade, fill): live fills only
    positionEvent: Any  # (position)
    errorEvent: Any  # (reqId, errorCode, errorString, contract)

    async def connectAsync(
        self,
        host: str = "127.0.0.1",
        port: int = 7497,
        clientId: int = 1,  # ib_async's own name
        timeout: float | None = 4,  # noqa: ASYNC109 - ib_async's signature
    ) -> Any: ...

    def disconnect(self) -> str | None: ...

    def isConnected(self) -> bool: ...

    async def qualifyContractsAsync(
        self, *contracts: Any, returnAll: bool = False
    ) -> list[Any]: ...

    def placeOrder(self, contract: Any, order: Any) -> Any: ...

    def cancelOrder(self, order: Any, manualCancelOrderTime: str = "") -> Any: ...

    def openTrades(self) -> list[Any]: ...

    def trades(self) -> list[Any]: ...

    def positions(self, account: str = "") -> list[Any]: ...

    def accountValues(self, account: str = "") -> list[Any]: ...
