"""10,000 bad bodies from hypothesis across every alert route: never a 5xx, never an order, and
every answer names the problem."""

from __future__ import annotations

import asyncio
import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.adversarial.servers import post_all, threaded_app
from tests.helpers import FMZ_ENV, PASSPHRASE, alert, make_settings

BATCH, EXAMPLES = 100, 100  # 10,000 bodies
ROUTES = (
    "/tradingview-to-webhook-order",
    "/tradingview-to-discord-study",
    "/webhook/signal",
    "/webhook/ib",
    "/webhook/fmz",
)
# Fields a valid alert cannot do without, or whose bad value makes it unusable.
VITAL = ("ticker", "action", "price", "message", "long SL", "time", "passphrase", "type")

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        [
            "NaN",
            "Infinity",
            "-inf",
            "1e999",
            "{{close}}",
            '{{plot("Long SL")}}',
            "",
            " ",
            "0x10",
            "1,5",
            "--1",
            "\u0000",
            "é" * 50,
            "9" * 400,
        ]
    ),
    st.text(max_size=30),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)


def nested(depth: int) -> str:
    """JSON nested `depth` deep, as text (too deep for the encoder to write)."""
    return '{"a": [' * depth + "1" + "]}" * depth


@st.composite
def bad_body(draw: st.DrawFn) -> tuple[str, bytes]:
    route = draw(st.sampled_from(ROUTES))
    kind = draw(
        st.sampled_from(
            ["field", "missing", "text", "bytes", "nested", "duplicate", "oversize", "array"]
        )
    )
    base = alert()
    if kind == "field":
        field = draw(st.sampled_from(VITAL))
        base[field] = draw(junk.filter(lambda v, f=field: _bad_for(f, v)))
        body = json.dumps(base, allow_nan=True).encode()
    elif kind == "missing":
        for field in draw(st.sets(st.sampled_from(VITAL[:5]), min_size=1)):
            base.pop(field)
        body = json.dumps(base).encode()
    elif kind == "text":
        body = draw(st.text(max_size=200)).encode()
    elif kind == "bytes":
        body = b"\xff\xfe" + draw(st.binary(max_size=100)) + b"\x80"
    elif kind == "nested":
        text = json.dumps(base)[:-1]
        body = (text + ', "extra": ' + nested(draw(st.integers(50, 5000))) + "}").encode()
    elif kind == "duplicate":  # the same key twice, the second one bad
        text = json.dumps(base)[:-1]
        body = (text + ', "price": ' + json.dumps(draw(junk.filter(_bad_price))) + "}").encode()
    elif kind == "oversize":
        body = json.dumps({**base, "comment": "x" * 20_000}).encode()
    else:
        body = json.dumps([base]).encode()
    return route, body


def _bad_price(value: Any) -> bool:
    return _bad_for("price", value)


def _bad_for(field: str, value: Any) -> bool:
    """Only values that cannot pass for the field (a value that happens to be valid is no test)."""
    if field in ("price", "long SL"):
        return not (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and 0 < value < 10**12
        )
    if field == "passphrase":
        return value != PASSPHRASE
    if field == "type":  # optional: null is the same as absent (market)
        return value is not None and value not in ("market", "limit")
    if field == "time":  # no time is allowed (flagged); a bad one is not
        return value not in (None, "") and not (isinstance(value, str) and not value.strip())
    return not isinstance(value, str) or value.strip() in ("", "{{close}}") or len(value) > 40


def test_ten_thousand_bad_bodies(tmp_path: Path, figure: Any) -> None:
    statuses: Counter[int] = Counter()
    silent: list[tuple[str, bytes, dict[str, Any]]] = []
    with threaded_app(make_settings(tmp_path / "data", **FMZ_ENV)) as app:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(st.lists(bad_body(), min_size=BATCH, max_size=BATCH))
        def batch(bodies: list[tuple[str, bytes]]) -> None:
            answers = asyncio.run(post_all(app.base, bodies))
            for (route, body), (status, answer) in zip(bodies, answers, strict=True):
                statuses[status] += 1
                assert status < 500, (route, body[:300], answer)
                message = str(answer.get("message", ""))
                if not message or message.startswith("internal"):
                    silent.append((route, body[:200], answer))

        batch()
        exchange = app.core.venues.get("Testing").exchange  # type: ignore[union-attr]
        orders = app.run(exchange.fetch_open_orders)
        positions = app.run(exchange.fetch_positions)
    total = sum(statuses.values())
    fivexx = sum(v for k, v in statuses.items() if k >= 500)
    figure(
        "malformed bodies",
        f"{total} sent, 5xx {fivexx}, orders {len(orders)}, positions {len(positions)}, "
        f"answers {dict(sorted(statuses.items()))}",
    )
    assert total >= 10_000
    assert not silent, silent[:3]
    assert orders == [] and positions == []
    assert set(statuses) <= {400, 401, 413, 422, 200}  # 200: an informational message, ignored
