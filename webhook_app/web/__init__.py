"""The HTTP shell: thin aiohttp handlers over the core."""
