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

from bench.harness import PASSPHRASE, ROOT, LoadResult, Server, fire, free_port, stats
from webhook_app.plan_rows import alert_of, role_of

ORDER = "/tradingview-to-webhook-order"


def entry_body(i: int, run: str) -> str:
    """A unique entry with a stop and two take-profits, on its own symbol.

    A far stop and a tiny risk keep thousands of open positions inside the paper margin.
    """
    return json.dumps(
        {
            "ticker": f"B{run}X{i}USDT",
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
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
        alert_id, role = alert_of(client_id), role_of(client_id)
        if alert_id in load.sent_at and role in out:
            out[role].append(stamp - load.sent_at[alert_id] * 1000)
    return out


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


async def measure_seed(n: int, concurrency: int, latency_ms: float) -> dict[str, Any]:
    """Baseline (b): the seed's request path (6 exchange calls, 12 Discord posts, blocking)."""
    port = free_port()
    server = Server(
        [str(ROOT / "bench" / "seed_server.py"), str(port), "--latency-ms", str(latency_ms)],
        {},
        port,
    )
    await server.start()
    try:
        load = await fire(f"http://127.0.0.1:{port}{ORDER}", ["{}"] * n, concurrency)
    finally:
        server.stop()
    return {
        "concurrency": concurrency,
        "n": n,
        "ack_ms": stats(load.acks_ms),
        "alerts_per_s": round(load.rate, 2),
        "errors": load.errors,
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    levels = [int(x) for x in args.levels.split(",")]
    results: dict[str, Any] = {
        "cores": os.cpu_count(),
        "latency_ms": args.latency,
        "n": args.n,
        "levels": [],
    }
    for level in levels:
        bare = await measure_bare(args.n, level)
        app = await measure_app(args.n, level, args.latency, "full")
        seed = await measure_seed(args.seed_n, level, args.latency)
        row = {"concurrency": level, "bare": bare, "app": app, "seed": seed}
        row["ack_p99_vs_bare"] = round(app["ack_ms"]["p99"] / bare["ack_ms"]["p99"], 2)
        row["rate_vs_bare"] = round(app["alerts_per_s"] / bare["alerts_per_s"], 2)
        row["ack_p50_seed_vs_app"] = round(seed["ack_ms"]["p50"] / app["ack_ms"]["p50"], 1)
        row["rate_app_vs_seed"] = round(app["alerts_per_s"] / max(seed["alerts_per_s"], 1e-9), 1)
        results["levels"].append(row)
        print_level(row, header=level == levels[0])
    ten = 10 if 10 in levels else levels[-1]
    results["keep_alive"] = await measure_app(args.n, ten, args.latency, "full", keep_alive=True)
    results["keep_alive_bare"] = await measure_bare(args.n, ten, keep_alive=True)
    results["journal_normal"] = await measure_app(args.n, ten, args.latency, "normal", tag="n")
    results["relay"] = await relay_figures(args)
    print_rest(results, ten)
    out = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"\nwritten: {out}")
    return results


async def relay_figures(args: argparse.Namespace) -> dict[str, Any]:
    from bench import relay, venue_events

    return {
        "study_burst": await relay.study_burst(args.burst),
        "approval": await relay.approval_to_order(args.approvals, args.latency),
        "charts": await relay.charts(args.charts),
        "events": await relay.event_latency(args.approvals),
        "venue_events": await venue_events.fill_latency(
            args.venue_fills, args.venue_poll_s, args.venue_idle_s
        ),
    }


def print_level(row: dict[str, Any], *, header: bool) -> None:
    app, bare, seed = row["app"], row["bare"], row["seed"]
    if header:
        print(
            f"{'c':>3} {'ack p50/p99/max ms':>22} {'alerts/s':>9} {'bare p50/p99':>14} "
            f"{'bare/s':>8} {'p99 ×bare':>9} {'rate ×bare':>10} {'→entry p50/p99':>15} "
            f"{'→stop p50/p99':>14} {'orders/alert':>12} {'err':>4} {'seed p50 ms':>11} "
            f"{'seed/s':>7}"
        )
    a = app["ack_ms"]
    print(
        f"{row['concurrency']:>3} {a['p50']:>7.1f}/{a['p99']:>6.1f}/{a['max']:>7.1f} "
        f"{app['alerts_per_s']:>9.0f} {bare['ack_ms']['p50']:>6.1f}/{bare['ack_ms']['p99']:>6.1f} "
        f"{bare['alerts_per_s']:>8.0f} {row['ack_p99_vs_bare']:>9.2f} {row['rate_vs_bare']:>10.2f} "
        f"{app['alert_to_entry_ms']['p50']:>7.1f}/{app['alert_to_entry_ms']['p99']:>6.1f} "
        f"{app['alert_to_stop_ms']['p50']:>6.1f}/{app['alert_to_stop_ms']['p99']:>6.1f} "
        f"{app['orders_per_alert']:>12.2f} {app['errors']:>4} {seed['ack_ms']['p50']:>11.0f} "
        f"{seed['alerts_per_s']:>7.2f}"
    )


def print_rest(results: dict[str, Any], ten: int) -> None:
    keep, keep_bare = results["keep_alive"], results["keep_alive_bare"]
    normal = results["journal_normal"]
    full = next(r["app"] for r in results["levels"] if r["concurrency"] == ten)
    ratio = keep["ack_ms"]["p99"] / keep_bare["ack_ms"]["p99"]
    print(
        f"\nkeep-alive, {ten} at a time: ack p99 {keep['ack_ms']['p99']} ms "
        f"(bare {keep_bare['ack_ms']['p99']}, ×{ratio:.2f}), "
        f"{keep['alerts_per_s']:.0f} alerts/s (bare {keep_bare['alerts_per_s']:.0f})"
    )
    print(
        f"journal fsync full vs normal, {ten} at a time: {full['alerts_per_s']:.0f} vs "
        f"{normal['alerts_per_s']:.0f} alerts/s, ack p99 {full['ack_ms']['p99']} vs "
        f"{normal['ack_ms']['p99']} ms"
    )
    print(
        f"process: RSS after the run {full['rss_mb']} MB, start-up to 200 /health "
        f"{full['startup_s']} s"
    )
    relay = results["relay"]
    burst = relay["study_burst"]
    print(
        f"discord: {burst['alerts']} study alerts in {burst['messages']} messages "
        f"(fewest {burst['fewest_messages']}), {burst['seconds']} s vs minimum "
        f"{burst['minimum_seconds']} s (×{burst['ratio_to_minimum']}), 429s "
        f"{burst['requests_429']}, inside retry_after {burst['inside_retry_after']}"
    )
    approval = relay["approval"]["approval_to_entry_ms"]
    print(
        f"approval → entry at the exchange: p50 {approval['p50']} ms, p99 {approval['p99']} ms "
        f"(exchange latency {results['latency_ms']} ms: the entry is stamped half-way)"
    )
    events = relay["events"]
    print(
        f"events: a paper fill → the websocket stream p50 {events['fill_to_stream_ms']['p50']} ms"
        f", → its Discord line p50 {events['fill_to_discord_ms']['p50']} ms"
    )
    venue = relay["venue_events"]
    stream, poll = venue["stream"], venue["poll"]
    print(
        f"venue events (fake Binance USDⓈ-M): a fill → the adapter's event p50 "
        f"{stream['fill_to_event_ms']['p50']} ms pushed vs {poll['fill_to_event_ms']['p50']} ms "
        f"polled every {venue['poll_s']} s (×{venue['poll_vs_stream_p50']}); idle REST "
        f"requests/min {stream['idle_requests_per_min']} streaming vs "
        f"{poll['idle_requests_per_min']} polling"
    )
    charts = relay["charts"]
    print(
        f"charts: render p50 {charts['render_ms']['p50']} ms; study message to the channel "
        f"p50 {charts['to_channel_with_chart_ms']['p50']} ms with the chart, "
        f"{charts['to_channel_without_chart_ms']['p50']} ms without"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("--n", type=int, default=2000, help="alerts per level")
    parser.add_argument("--seed-n", type=int, default=40, help="alerts per level, seed baseline")
    parser.add_argument("--levels", default="1,10,50", help="concurrency levels")
    parser.add_argument("--latency", type=float, default=50.0, help="paper latency per call, ms")
    parser.add_argument("--burst", type=int, default=100, help="study alerts in the burst")
    parser.add_argument("--approvals", type=int, default=20)
    parser.add_argument("--charts", type=int, default=10)
    parser.add_argument("--venue-fills", type=int, default=20, help="fills at the ccxt fake")
    parser.add_argument("--venue-poll-s", type=float, default=1.0, help="polling, to compare")
    parser.add_argument("--venue-idle-s", type=float, default=60.0, help="idle, to count requests")
    parser.add_argument(
        "--quick", action="store_true", help="a tiny run to keep the harness working"
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "latest.json", help="the JSON"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.levels, args.seed_n = 20, "1,10", 10
        args.burst, args.approvals, args.charts = 10, 2, 2
        args.venue_fills, args.venue_poll_s, args.venue_idle_s = 2, 0.2, 0.5
    return args


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
