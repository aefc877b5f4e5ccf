"""Unattended runs: schedules read from schedules.yaml, driven by the `schedule` package."""
