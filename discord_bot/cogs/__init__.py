"""The bot's cogs: payload, approvals, account commands and charts."""
