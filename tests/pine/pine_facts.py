"""What the tests need to know about a .pine file, read from pynescript's syntax tree."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pynescript import ast  # a dev requirement: its absence is a failure, not a skip

# Positional index of the alert_* parameters (TradingView v5 signatures).
ALERT_PARAMS = {
    "strategy.entry": {"alert_message": 8},
    "strategy.order": {"alert_message": 8},
    "strategy.exit": {
        "alert_message": 16,
        "alert_profit": 17,
        "alert_loss": 18,
        "alert_trailing": 19,
    },
    "strategy.close": {"alert_message": 4},
    "strategy.close_all": {"alert_message": 1},
}
PLOT_FUNCS = {"plot": 1, "plotshape": 1, "plotchar": 1}  # position of the title argument


@dataclass(frozen=True)
class AlertMessage:
    """One alert_* argument of an order call: what the strategy sends when that order fills."""

    line: int  # of the call in the script
    func: str  # strategy.entry, strategy.exit …
    param: str  # alert_message, alert_loss …
    value: Any  # the literal, or {"expr": source} when it is not a literal
    partial: bool  # strategy.exit with qty / qty_percent: closes part of the position
    has_stop: bool  # strategy.exit with a stop / loss / trailing stop


@dataclass
class PineFacts:
    version: str | None = None
    declaration: str | None = None
    overlay: Any = None
    plots: dict[Any, str | None] = field(default_factory=dict)  # title -> display argument
    alertconditions: list[dict[str, Any]] = field(default_factory=list)
    inputs: dict[Any, Any] = field(default_factory=dict)  # title -> default
    alert_messages: list[AlertMessage] = field(default_factory=list)


def _call_name(call: Any) -> str | None:
    f = call.func
    if isinstance(f, ast.Name):
        return f.id
    if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
        return f"{f.value.id}.{f.attr}"
    return None


def _arg(call: Any, name: str, pos: int | None) -> Any:
    """An argument's node by keyword, else by position; None if absent."""
    for a in call.args:
        if a.name == name:
            return a.value
    positional = [a for a in call.args if a.name is None]
    if pos is not None and pos < len(positional):
        return positional[pos].value
    return None


def _literal(node: Any) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    return None if node is None else {"expr": ast.unparse(node)}


def _record_order(facts: PineFacts, name: str, call: Any) -> None:
    exit_call = name == "strategy.exit"
    partial = exit_call and any(_arg(call, p, None) is not None for p in ("qty", "qty_percent"))
    has_stop = exit_call and any(
        _arg(call, p, None) is not None for p in ("stop", "loss", "trail_price", "trail_points")
    )
    for param, pos in ALERT_PARAMS[name].items():
        value = _arg(call, param, pos)
        if value is not None:
            facts.alert_messages.append(
                AlertMessage(call.lineno, name, param, _literal(value), partial, has_stop)
            )


def _record(facts: PineFacts, name: str, call: Any) -> None:
    if name in ("indicator", "strategy"):
        facts.declaration = name
        facts.overlay = _literal(_arg(call, "overlay", None))
    elif name in PLOT_FUNCS:
        display = _arg(call, "display", None)
        title = _literal(_arg(call, "title", PLOT_FUNCS[name]))
        facts.plots[title] = ast.unparse(display) if display is not None else None
    elif name == "alertcondition":
        facts.alertconditions.append(
            {
                "title": _literal(_arg(call, "title", 1)),
                "message": _literal(_arg(call, "message", 2)),
                "named_args": [a.name for a in call.args if a.name],
            }
        )
    elif name in ("input.int", "input.float"):
        facts.inputs[_literal(_arg(call, "title", 1))] = _literal(_arg(call, "defval", 0))
    elif name in ALERT_PARAMS:
        _record_order(facts, name, call)


def extract(path: Path) -> PineFacts:
    """Parse a script (slow: seconds) and collect its declaration, plots, alerts and inputs."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    facts = PineFacts(
        version=next((a.split("=", 1)[1] for a in tree.annotations if "@version" in a), None)
    )
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    for call in sorted(calls, key=lambda n: (n.lineno, n.col_offset)):
        name = _call_name(call)
        if name:
            _record(facts, name, call)
    return facts
