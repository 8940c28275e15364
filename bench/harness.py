"""Bench plumbing: start a server process, fire alerts at it over loopback, compute percentiles."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
PASSPHRASE = "bench-passphrase-0123456789"  # noqa: S105 - a throwaway for local runs


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def stats(values: list[float], digits: int = 2) -> dict[str, float]:
    """p50, p99 and max, rounded: every latency figure of the bench."""
    return {
        "p50": round(percentile(values, 50), digits),
        "p99": round(percentile(values, 99), digits),
        "max": round(max(values), digits) if values else float("nan"),
    }


@dataclass
class Server:
    """A server in its own process, so its memory and start-up are its own."""

    args: list[str]
    env: dict[str, str]
    port: int
    process: subprocess.Popen[bytes] | None = None
    started_s: float = 0.0
    log: Path | None = None

    async def start(self, health: str = "/health", limit_s: float = 30.0) -> None:
        env = {**os.environ, **self.env}
        began = time.perf_counter()
        # A file, not a pipe: an unread pipe fills up and blocks the server's logging.
        self.log = Path(tempfile.mkstemp(prefix="bench-server-", suffix=".log")[1])
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603, ASYNC220 - our module; starts at once
                [sys.executable, *self.args],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        url = f"http://127.0.0.1:{self.port}{health}"
        async with aiohttp.ClientSession() as http:
            while time.perf_counter() - began < limit_s:
                if self.process.poll() is not None:
                    raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
                try:
                    async with http.get(url) as r:
                        if r.status == 200:
                            self.started_s = time.perf_counter() - began
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.01)
        raise RuntimeError(f"server did not answer {health} within {limit_s} s")

    def rss_mb(self) -> float:
        assert self.process is not None
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS"))
        return kb / 1024

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.log is not None:
            self.log.unlink(missing_ok=True)


@dataclass
class LoadResult:
    acks_ms: list[float] = field(default_factory=list)
    sent_at: dict[str, float] = field(default_factory=dict)  # alert id → wall clock at send
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    wall_s: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.acks_ms) / self.wall_s if self.wall_s else 0.0


async def fire(
    url: str,
    bodies: list[str],
    concurrency: int,
    *,
    keep_alive: bool = False,
    id_of: Callable[[int, dict], str | None] | None = None,
) -> LoadResult:
    """Post every body, `concurrency` in flight; a new connection per request unless keep_alive."""
    result = LoadResult()
    connector = aiohttp.TCPConnector(force_close=not keep_alive, limit=0)
    queue: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
    for item in enumerate(bodies):
        queue.put_nowait(item)

    async def worker(http: aiohttp.ClientSession) -> None:
        while not queue.empty():
            index, body = queue.get_nowait()
            wall = time.time()
            began = time.perf_counter()
            try:
                async with http.post(url, data=body) as response:
                    text = await response.read()
                    elapsed = (time.perf_counter() - began) * 1000
                    result.statuses[response.status] = result.statuses.get(response.status, 0) + 1
            except aiohttp.ClientError:
                result.errors += 1
                continue
            result.acks_ms.append(elapsed)
            if response.status >= 400:
                result.errors += 1
            if id_of is not None:
                key = id_of(index, json.loads(text or b"{}"))
                if key:
                    result.sent_at[key] = wall

    async with aiohttp.ClientSession(connector=connector) as http:
        began = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
        result.wall_s = time.perf_counter() - began
    return result
