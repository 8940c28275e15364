"""The Discord desk: !payload, approval buttons and account commands (see issue 4)."""
