"""python -m runner.cli: the backroom command."""

from .main import main

if __name__ == "__main__":
    raise SystemExit(main())
