"""The README's systemd units, as a person would copy them, pass systemd's own check without a warning:
a misspelled key or value would otherwise be ignored silently and the service would stop differently."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
UNIT = re.compile(r"```ini\n(\[Unit\].*?)```", re.S)
INSTALLED_AT = ("/opt/backroom",)   # where the README's units say Backroom is installed


def readme_units() -> list[str]:
    return UNIT.findall((ROOT / "README.md").read_text(encoding="utf-8"))


def test_the_readme_shows_a_unit_for_the_scheduler_and_one_for_a_runner():
    starts = [re.search(r"^ExecStart=(.*)$", unit, re.M).group(1) for unit in readme_units()]
    assert starts == ["/opt/backroom/.venv/bin/backroom scheduler",
                      "/opt/backroom/.venv/bin/backroom worker --bot rekey-orders --name night-1"]


@pytest.mark.parametrize("number", range(len(readme_units())))
def test_each_readme_unit_passes_systemd_analyze_verify(number, tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is missing: ./quickstart.sh test installs systemd")
    installed = tmp_path / "backroom"
    (installed / ".venv" / "bin").mkdir(parents=True)
    (installed / ".venv" / "bin" / "backroom").symlink_to(shutil.which("backroom") or ROOT / ".venv" / "bin" / "backroom")
    unit = readme_units()[number]
    for place in INSTALLED_AT:
        unit = unit.replace(place, str(installed))
    path = tmp_path / f"backroom-{number}.service"
    path.write_text(unit, encoding="utf-8")
    done = subprocess.run(["systemd-analyze", "verify", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and not done.stderr.strip() and not done.stdout.strip(), done.stdout + done.stderr
