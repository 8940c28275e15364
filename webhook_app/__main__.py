"""Command line: `python -m webhook_app serve | demo | send ROUTE FILE`."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .config import load_settings, read_env
from .errors import ConfigError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m webhook_app", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the webhook server (reads .env)")
    demo = sub.add_parser(
        "demo", help="replay real bars through the study and the app, on the paper exchange"
    )
    demo.add_argument("--keep", action="store_true", help="keep the temporary data dir")
    demo.add_argument(
        "--study", action="store_true", help="send the study's alerts, each approved at once"
    )
    demo.add_argument("--bars", type=int, default=None, help="replay only the first N bars")
    demo.add_argument(
        "--chart", type=Path, default=Path("data") / "demo-replay.png", help="where the PNG goes"
    )
    send = sub.add_parser("send", help="post an alert like TradingView and print the answer")
    send.add_argument("route", help="order, study, fmz, signal, ib, or a /path")
    send.add_argument(
        "source",
        help="a file, '-' for stdin, or an alertmodel.txt example such as strategy-multi-tp:entry",
    )
    send.add_argument("--url", default=None, help="server base URL (default http://127.0.0.1:PORT)")
    send.add_argument(
        "--wait", type=float, default=2.5, help="seconds to wait for the outcome (0-2.5)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "serve":
            from .web.app import run

            run(load_settings())
            return 0
        if args.command == "demo":
            from .demo import run_demo

            return run_demo(keep=args.keep, study=args.study, bars=args.bars, chart=args.chart)
        from . import send

        # A client needs no server configuration: only where to post, and the passphrase that
        # replaces the templates' visible placeholder.
        env = read_env()
        base = args.url or f"http://127.0.0.1:{env.get('PORT') or 8080}"
        return send.main(
            args.route,
            args.source,
            base_url=base,
            wait=args.wait or None,
            passphrase=env.get("WEBHOOK_PASSPHRASE") or None,
        )
    except ConfigError as e:
        logging.basicConfig()
        print(f"configuration error: {e.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
