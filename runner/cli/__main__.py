"""python -m runner.cli: the backroom command."""

from .main import main

raise SystemExit(main())
