"""TradingView alerts to exchange orders: intake → plan → execution, behind an aiohttp shell."""
