"""The bot's cogs: payload, approvals and account commands."""
