"""`make bench`: the alert path measured beside its limits, in one run, reported as ratios."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import PASSPHRASE, ROOT, LoadResult, Server, fire, free_port, percentile

ORDER = "/tradingview-to-webhook-order"


def entry_body(i: int, run: str) -> str:
    """A unique entry with a stop and two take-profits, on its own symbol.

    A far stop and a tiny risk keep thousands of open positions inside the paper margin.
    """
    return json.dumps(
        {
            "ticker": f"B{run}X{i}USDT",
            "time": "2024-05-01T12:00:00Z",
            "action": "buy",
            "price": 40000,
            "message": "entry",
            "long SL": 20000,
            "long TP": 60000,
            "tp Close": 30,
            "tp1 Mult": 1,
            "risk": 0.01,
            "passphrase": PASSPHRASE,
        }
    )


def app_server(data_dir: Path, latency_ms: float, sync: str) -> Server:
    port = free_port()
    env = {
        "WEBHOOK_PASSPHRASE": PASSPHRASE,
        "DATA_DIR": str(data_dir),
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "PAPER_LATENCY_MS": str(latency_ms),
        "JOURNAL_SYNC": sync,
        "ACCOUNTS_FILE": "",
        "LOG_LEVEL": "WARNING",
    }
    return Server(["-m", "webhook_app", "serve"], env, port)


async def wait_idle(data_dir: Path, limit_s: float = 120.0) -> None:
    """Until the journal has no alert left accepted or executing."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        with sqlite3.connect(f"file:{data_dir / 'journal.sqlite3'}?mode=ro", uri=True) as conn:
            busy = conn.execute(
                "SELECT COUNT(*) FROM alerts WHERE status IN ('accepted','executing')"
            ).fetchone()[0]
        if busy == 0:
            return
        await asyncio.sleep(0.05)
    raise TimeoutError("alerts still executing")


def order_latencies(data_dir: Path, load: LoadResult) -> dict[str, list[float]]:
    """Alert sent → entry / stop accepted, from the paper exchange's own timestamps."""
    out: dict[str, list[float]] = {"entry": [], "stop": []}
    with sqlite3.connect(f"file:{data_dir / 'paper.sqlite3'}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT client_id, timestamp FROM paper_orders").fetchall()
    for client_id, stamp in rows:
        alert_id, role = client_id[:16], client_id[16:]
        if alert_id in load.sent_at and role in ("en", "sl"):
            out["entry" if role == "en" else "stop"].append(stamp - load.sent_at[alert_id] * 1000)
    return out


def stats(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 50), 2),
        "p99": round(percentile(values, 99), 2),
        "max": round(max(values), 2) if values else float("nan"),
    }


async def measure_app(
    n: int,
    concurrency: int,
    latency_ms: float,
    sync: str,
    *,
    keep_alive: bool = False,
    tag: str = "",
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        data_dir = Path(tmp)
        server = app_server(data_dir, latency_ms, sync)
        await server.start()
        try:
            bodies = [entry_body(i, f"{concurrency}{tag}") for i in range(n)]
            load = await fire(
                f"http://127.0.0.1:{server.port}{ORDER}",
                bodies,
                concurrency,
                keep_alive=keep_alive,
                id_of=lambda _i, a: a.get("alert_id"),
            )
            await wait_idle(data_dir)
            lat = order_latencies(data_dir, load)
            with sqlite3.connect(f"file:{data_dir / 'paper.sqlite3'}?mode=ro", uri=True) as conn:
                orders = conn.execute("SELECT COUNT(*) FROM paper_orders").fetchone()[0]
            rss = server.rss_mb()
        finally:
            server.stop()
    return {
        "concurrency": concurrency,
        "n": n,
        "keep_alive": keep_alive,
        "journal_sync": sync,
        "ack_ms": stats(load.acks_ms),
        "alerts_per_s": round(load.rate, 1),
        "alert_to_entry_ms": stats(lat["entry"]),
        "alert_to_stop_ms": stats(lat["stop"]),
        "orders_per_alert": round(orders / max(1, len(load.sent_at)), 2),
        "errors": load.errors,
        "statuses": load.statuses,
        "rss_mb": round(rss, 1),
        "startup_s": round(server.started_s, 3),
    }


async def measure_bare(n: int, concurrency: int, keep_alive: bool = False) -> dict[str, Any]:
    port = free_port()
    server = Server([str(ROOT / "bench" / "bare_server.py"), str(port)], {}, port)
    await server.start()
    try:
        load = await fire(
            f"http://127.0.0.1:{port}{ORDER}", ["{}"] * n, concurrency, keep_alive=keep_alive
        )
    finally:
        server.stop()
    return {
        "concurrency": concurrency,
        "n": n,
        "keep_alive": keep_alive,
        "ack_ms": stats(load.acks_ms),
        "alerts_per_s": round(load.rate, 1),
        "errors": load.errors,
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    levels = [int(x) for x in args.levels.split(",")]
    results: dict[str, Any] = {
        "cores": os.cpu_count(),
        "latency_ms": args.latency,
        "n": args.n,
        "bare": [],
        "app": [],
    }
    for level in levels:
        bare = await measure_bare(args.n, level)
        app = await measure_app(args.n, level, args.latency, "full")
        app["ack_p99_vs_bare"] = round(app["ack_ms"]["p99"] / bare["ack_ms"]["p99"], 2)
        app["rate_vs_bare"] = round(app["alerts_per_s"] / bare["alerts_per_s"], 2)
        results["bare"].append(bare)
        results["app"].append(app)
        print(json.dumps({"bare": bare, "app": app}))
    return results


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("--n", type=int, default=2000, help="alerts per level")
    parser.add_argument("--levels", default="1,10,50", help="concurrency levels")
    parser.add_argument("--latency", type=float, default=50.0, help="paper latency per call, ms")
    parser.add_argument(
        "--quick", action="store_true", help="a tiny run to keep the harness working"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.levels = 20, "1,10"
    return args


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
