"""Low-level helpers every other package may use: atomic writes, random states, input checks, metrics."""
