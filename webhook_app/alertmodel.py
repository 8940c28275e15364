"""Reads alertmodel.txt (templates and examples) and substitutes placeholders like TradingView."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

DEFAULT_PATH = Path(__file__).resolve().parent.parent / "alertmodel.txt"
PASSPHRASE_PLACEHOLDER = "<your WEBHOOK_PASSPHRASE>"  # noqa: S105 - a visible placeholder
_PLACEHOLDER = re.compile(r"\{\{\s*(.+?)\s*\}\}")


@dataclass
class Block:
    name: str
    route: str = ""
    template: str = ""
    examples: dict[str, str] = field(default_factory=dict)

    @property
    def target(self) -> str:
        """The route's path with its query (seed 000 puts its keys and order there)."""
        return self.route.split(maxsplit=1)[-1] if self.route else ""

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


def load_alertmodel(path: Path = DEFAULT_PATH) -> dict[str, Block]:
    """Blocks start with '=== name'; a 'route:' line, then '--- template' and '--- example X'."""
    blocks: dict[str, Block] = {}
    block: Block | None = None
    section: tuple[str, str] | None = None
    lines: list[str] = []

    def close_section() -> None:
        if block is None or section is None:
            return
        text = "\n".join(lines).strip()
        if section[0] == "template":
            block.template = text
        else:
            block.examples[section[1]] = text

    for raw in path.read_text(encoding="utf-8").splitlines():
        stripped = raw.strip()
        if stripped.startswith("==="):
            close_section()
            block, section, lines = Block(stripped.strip("= ").strip()), None, []
            blocks[block.name] = block
        elif block is not None and stripped.startswith("---"):
            close_section()
            words = stripped.strip("- ").split(maxsplit=1)
            section = (words[0], words[1] if len(words) > 1 else "default")
            lines = []
        elif block is not None and section is None and stripped.lower().startswith("route:"):
            block.route = stripped.split(":", 1)[1].strip()
        elif stripped.startswith("#"):
            continue  # comments sit beside the messages, never inside them
        elif section is not None:
            lines.append(raw)
    close_section()
    return blocks


_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def refresh_times(example: str, now: datetime | None = None) -> str:
    """An example as TradingView would send it now: its {{timenow}} values are the current time
    (alerts older than MAX_ALERT_AGE are refused as stale)."""
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return _ISO_TIME.sub(stamp, example)


def substitute(template: str, values: Mapping[str, object]) -> str:
    """Replace {{name}} placeholders with text, as TradingView does; unknown ones stay literal."""

    def repl(match: re.Match[str]) -> str:
        key = match.group(1)
        if key in values:
            return str(values[key])
        return match.group(0)

    return _PLACEHOLDER.sub(repl, template)


def placeholders(template: str) -> list[str]:
    return [m.group(1) for m in _PLACEHOLDER.finditer(template)]


def plot_titles(template: str) -> list[str]:
    """The titles used in {{plot("Title")}} placeholders."""
    return re.findall(r'plot\("([^"]+)"\)', template)
