"""`python -m discord_bot`: run the Discord desk (reads .env)."""

from __future__ import annotations

import logging
import sys

from webhook_app.errors import ConfigError

from .bot import DeskBot
from .config import load_bot_config


def main() -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        config = load_bot_config()
    except ConfigError as e:
        print(f"configuration error: {e.message}", file=sys.stderr)
        return 2
    bot = DeskBot(config)
    bot.run(config.token.reveal(), log_handler=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
