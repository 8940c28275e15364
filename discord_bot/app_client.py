"""The bot's one HTTP session to webhook_app: orders (with the passphrase), decisions, the API."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import aiohttp

from webhook_app.config import Secret

logger = logging.getLogger(__name__)

ORDER_ROUTE = "/tradingview-to-webhook-order"
UNREACHABLE = "the trading app did not answer: is it running at WEBHOOK_URL?"


@dataclass(frozen=True)
class AppAnswer:
    http_status: int  # 0 when the app could not be reached
    body: dict[str, Any]
    png: bytes | None = None  # a chart, when one was asked for and came back

    @property
    def ok(self) -> bool:
        return 200 <= self.http_status < 300 and bool(self.body.get("success"))

    @property
    def status(self) -> str:
        return str(self.body.get("status", "error"))

    @property
    def message(self) -> str:
        return str(self.body.get("message", ""))


class AppClient:
    def __init__(
        self,
        base_url: str,
        passphrase: Secret,
        api_token: Secret | None,
        *,
        timeout_s: float = 10.0,
    ) -> None:
        self.base_url, self.passphrase, self.api_token = base_url, passphrase, api_token
        self.timeout_s = timeout_s
        self._session: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s))

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def order(
        self, payload: dict[str, Any], *, approver: str, wait_s: float = 2.5, settle_s: float = 15.0
    ) -> AppAnswer:
        """Post an order with the passphrase; follow it until final (or `settle_s` passes)."""
        body = {**payload, "passphrase": self.passphrase.reveal(), "approver": approver}
        answer = await self._request("POST", ORDER_ROUTE, json=body, params={"wait": str(wait_s)})
        deadline = asyncio.get_running_loop().time() + settle_s
        while answer.status in ("accepted", "executing") and answer.body.get("alert_id"):
            if asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.5)
            answer = await self._request("GET", f"/alerts/{answer.body['alert_id']}")
        return answer

    async def alert(self, alert_id: str) -> AppAnswer:
        return await self._request("GET", f"/alerts/{alert_id}")

    async def reject(self, alert_id: str, *, by: str) -> AppAnswer:
        return await self.api("POST", f"/api/alerts/{alert_id}/reject", json={"by": by})

    async def api(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
        png: bool = False,
    ) -> AppAnswer:
        if self.api_token is None:
            return AppAnswer(
                0,
                {
                    "success": False,
                    "status": "unauthorized",
                    "message": "API_TOKEN is not set for the bot",
                },
            )
        headers = {"Authorization": f"Bearer {self.api_token.reveal()}"}
        return await self._request(method, path, json=json, params=params, headers=headers, png=png)

    async def chart(self, symbol: str, level: str | None, account: str | None) -> AppAnswer:
        """The app's PNG of a symbol (candles, position, open orders) in `png`, or why there is
        none."""
        params = {
            "symbol": symbol,
            **({"level": level} if level else {}),
            **({"venue": account} if account else {}),
        }
        return await self.api("GET", "/api/chart", params=params, png=True)

    async def _request(
        self, method: str, path: str, *, png: bool = False, **kwargs: Any
    ) -> AppAnswer:
        """One request: its JSON answer, or (png) the image, in the same round trip."""
        assert self._session is not None, "AppClient.open() first"
        try:
            async with self._session.request(method, self.base_url + path, **kwargs) as response:
                if png and response.status == 200 and response.content_type == "image/png":
                    ok = {"success": True, "status": "ok", "message": "chart"}
                    return AppAnswer(200, ok, await response.read())
                try:
                    body = await response.json(content_type=None)
                except ValueError:
                    body = None
                if not isinstance(body, dict):
                    body = {
                        "success": False,
                        "status": "error",
                        "message": f"the app answered HTTP {response.status} without JSON",
                    }
                return AppAnswer(response.status, body)
        except (aiohttp.ClientError, TimeoutError) as e:
            logger.warning("app request %s %s failed: %s", method, path, e.__class__.__name__)
            return AppAnswer(0, {"success": False, "status": "unreachable", "message": UNREACHABLE})
