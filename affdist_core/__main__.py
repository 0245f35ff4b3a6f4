"""`python -m affdist_core` runs the command-line interface."""

from affdist_core.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
