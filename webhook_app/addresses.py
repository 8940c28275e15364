"""IP addresses and networks in settings: parsed once, matched per request."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from .errors import ConfigError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# TradingView posts webhooks from these (its documentation, 2024-2026).
TRADINGVIEW_IPS = ("52.89.214.238", "34.212.75.30", "54.218.53.128", "52.32.178.7")


def parse_networks(name: str, raw: str | None) -> tuple[Network, ...] | None:
    """`1.2.3.4, 10.0.0.0/8, tradingview` → networks; empty → None (the control is off)."""
    if raw is None or not raw.strip():
        return None
    out: list[Network] = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        if item.lower() == "tradingview":
            out += [ipaddress.ip_network(ip) for ip in TRADINGVIEW_IPS]
            continue
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(f"{name}: {item!r} is not an IP address or network") from None
    return tuple(out)


def within(address: str, networks: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)
