"""Comparison of every method on held-out library rows, analyses and the run report."""
