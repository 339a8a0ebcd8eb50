"""Execution: Plans compiled from graphs, the Session that caches and runs them."""
