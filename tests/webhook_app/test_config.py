"""Settings: the default account, the accounts file, and start-up errors that name the variable."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import ORDER, PASSPHRASE, alert, make_settings
from webhook_app.config import Secret, load_settings
from webhook_app.errors import ConfigError


def test_default_account_is_the_paper_testing_account(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    account = settings.account(None)
    assert account is not None and account.name == "Testing" and account.exchange == "paper"
    assert (account.balance, account.risk_pct, account.max_leverage) == (D(10000), D(1), D(10))
    assert account.max_notional is None and account.symbols is None


def test_paper_balance_sets_the_default_account(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, PAPER_BALANCE="2500")
    assert settings.accounts["Testing"].balance == D(2500)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"WEBHOOK_PASSPHRASE": ""}, "WEBHOOK_PASSPHRASE is required"),
        ({"WEBHOOK_PASSPHRASE": "   "}, "WEBHOOK_PASSPHRASE is required"),
        ({"PORT": "http"}, "PORT must be an integer"),
        ({"PAPER_BALANCE": "lots"}, "PAPER_BALANCE must be a number"),
        ({"PAPER_LATENCY_MS": "-5"}, "PAPER_LATENCY_MS must be a finite number >= 0"),
        ({"JOURNAL_SYNC": "sometimes"}, "JOURNAL_SYNC must be one of full, normal"),
        (
            {"ACCOUNTS_FILE": "/nonexistent/accounts.toml"},
            "ACCOUNTS_FILE /nonexistent/accounts.toml",
        ),
    ],
)
def test_bad_settings_fail_naming_the_variable(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        make_settings(tmp_path, **env)


def test_missing_passphrase_never_falls_back_to_none(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_settings({"DATA_DIR": str(tmp_path)}, env_file=None)


def test_settings_repr_masks_secrets(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    assert PASSPHRASE not in repr(settings) and "***" in repr(settings)
    assert not Secret("abc").matches(None) and not Secret("abc").matches(123)
    assert Secret("abc").matches("abc") and not Secret("abc").matches("abd")


ACCOUNTS = """
default = "Main"

[accounts.Main]
exchange = "paper"
risk_pct = 0.5
max_leverage = 3
max_notional = 2000
balance = 5000
api_key_env = "MAIN_KEY"
api_secret_env = "MAIN_SECRET"

[accounts.Small]
risk_pct = 2
symbols = ["ETHUSDT"]

[tickers.paper]
BTCPERP = "BTCUSDT"
"""


def write(tmp_path: Path, text: str, name: str = "accounts.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_accounts_file(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, ACCOUNTS_FILE=str(write(tmp_path, ACCOUNTS)))
    main = settings.accounts["Main"]
    assert settings.default_account == "Main"
    assert (main.risk_pct, main.max_leverage, main.max_notional, main.balance) == (
        D("0.5"),
        D(3),
        D(2000),
        D(5000),
    )
    assert (main.api_key_env, main.api_secret_env) == ("MAIN_KEY", "MAIN_SECRET")
    assert settings.accounts["Small"].symbols == frozenset({"ETHUSDT"})
    assert settings.tickers["paper"]["BTCPERP"] == "BTCUSDT"


def test_accounts_file_as_json(tmp_path: Path) -> None:
    path = write(tmp_path, '{"accounts": {"J": {"risk_pct": 1.5}}}', "accounts.json")
    settings = make_settings(tmp_path, ACCOUNTS_FILE=str(path))
    assert settings.default_account == "J" and settings.accounts["J"].risk_pct == D("1.5")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[accounts.A]\nrisk = 1\n", r"accounts.A: unknown setting\(s\) risk"),
        ("[accounts.A]\nrisk_pct = 0\n", "accounts.A.risk_pct must be from 0.01 to 100"),
        ("[accounts.A]\nmax_leverage = 'ten'\n", "accounts.A.max_leverage must be a number"),
        ("[accounts.A]\nexchange = 'ftx'\n", "accounts.A.exchange: 'ftx' is not supported"),
        ("[accounts.A]\napi_key_env = 'abcdef123secret'\n", "must be an environment variable NAME"),
        ("default = 'B'\n[accounts.A]\n", "default account 'B' is not defined"),
        ("nothing = 1\n", r"needs an \[accounts.NAME\] table"),
        ("[accounts.A\n", "not valid"),
        ("[accounts.A]\n[tickers]\npaper = 3\n", "tickers.paper must map ticker = symbol"),
    ],
)
def test_bad_accounts_file_names_the_entry(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_settings(tmp_path, ACCOUNTS_FILE=str(write(tmp_path, text)))


async def test_ticker_map_and_account_limits_apply(make_client: Any, tmp_path: Path) -> None:
    client = await make_client(ACCOUNTS_FILE=str(write(tmp_path, ACCOUNTS)))
    code, answer = await client.post(ORDER, alert(ticker="BTCPERP", subaccount=None), wait=2.5)
    assert (code, answer["status"], answer["symbol"]) == (200, "executed", "BTCUSDT")
    # Main: risk 0.5 % of 5,000 = 25 / 200 = 0.125, capped by max notional 2,000 / 40,000 = 0.05
    entry = next(o for o in answer["orders"] if o["role"] == "entry")
    assert entry["amount"] == "0.05"
    assert "size capped by max notional 2000 USDT" in answer["warnings"]
    code, answer = await client.post(ORDER, alert(subaccount="Small"))
    assert (code, answer["status"]) == (422, "rejected")
    assert "unknown ticker 'BTCUSDT' for account Small (ETHUSDT)" in answer["message"]
