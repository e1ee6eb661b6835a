"""Adapters: each vendor or data layout in its own folder; none imports another."""
