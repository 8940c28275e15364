"""Venue adapters behind one Exchange interface; only adapters import an SDK."""
