"""The `backroom` command: one module per command group (main.py holds the app and the run commands)."""
