"""Backroom as a builder installs it: an sdist and a wheel built from the source, the wheel installed
with its core dependencies only into a fresh virtual environment, `backroom init` in an empty folder,
the sample bot run from there against BILLSYS, and the web recorder's files present; a desktop bot
in that web-only install says which extra to add."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .conftest import PASSWORD, ROOT, orders_in_db

pytestmark = [pytest.mark.slow, pytest.mark.web]


def source_copy(target: Path) -> Path:
    """The files git tracks (what a release is built from), without this checkout's build leftovers."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).write_bytes(source.read_bytes())
    return target


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    base = tmp_path_factory.mktemp("package")
    source = source_copy(base / "source")
    dist = base / "dist"
    # from the sdist, as pip would: a file left out of the sdist is then missing from the wheel too
    subprocess.run([sys.executable, "-m", "build", "--outdir", str(dist), str(source)], check=True,
                   capture_output=True, timeout=600)
    [wheel] = dist.glob("*.whl")
    [sdist] = dist.glob("*.tar.gz")
    return base, wheel, sdist


def test_the_wheel_holds_every_file_used_at_run_time_and_one_top_level_name(built):
    _, wheel, _ = built
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if ".dist-info/" not in n}
    assert top == {"runner"}, top     # the bundled apps live under runner.demo, never a top-level 'demo'
    for needed in ("runner/recorder/capture.js", "runner/templates/report.js", "runner/templates/report.html.j2",
                   "runner/console/static/console.js", "runner/starter/backroom.yaml", "runner/starter/gitignore",
                   "runner/starter/bots/sample-orders/bot.yaml", "runner/starter/selectors/billing.yaml",
                   "runner/demo/billing_web/templates/home.html"):
        assert needed in names, needed
    package_files = {p.relative_to(ROOT).as_posix() for p in (ROOT / "runner").rglob("*")
                     if p.is_file() and "__pycache__" not in p.parts}
    assert package_files <= set(names), sorted(package_files - set(names))   # nothing of the package left out


def test_a_fresh_install_inits_a_project_and_runs_its_sample_bot(built, tmp_path):
    from .conftest import start_billing

    base, wheel, _ = built
    venv = base / "venv"
    if not venv.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "-c",
                        str(ROOT / "constraints.txt"), str(wheel)], check=True, timeout=900)
    backroom = str(venv / "bin" / "backroom")
    installed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format=freeze"],
                               capture_output=True, text=True, check=True).stdout.lower()
    assert "pyautogui" not in installed and "pynput" not in installed   # the core is web-only

    project = tmp_path / "my-bots"
    made = subprocess.run([backroom, "init", str(project)], capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    assert (project / ".gitignore").read_text().count("logs/") == 1 and (project / "logs").is_dir()
    env = {**os.environ, "BACKROOM_SECRET_BILLING_PASSWORD": PASSWORD, "COLUMNS": "200"}
    env.pop("PYTHONPATH", None)
    with start_billing(tmp_path) as app:
        run = subprocess.run([backroom, "run", "sample-orders", "--input", "samples/orders.xlsx",
                              "--app-url", f"billing={app.url}"], cwd=project, capture_output=True, text=True,
                             env=env, timeout=300)
        assert run.returncode == 0, run.stdout + run.stderr
        assert "3 orders from 3 input rows: 3 done" in run.stdout
        saved = {o["reference"] for o in orders_in_db(app.settings.db_path)}
    assert {"PO-0001", "PO-0002", "PO-0003"} <= saved
    # the web recorder reads its capture script when it is imported
    recorder = subprocess.run([str(venv / "bin" / "python"), "-c", "import runner.recorder.web as w; "
                               "print(len(w.CAPTURE_SCRIPT))"], capture_output=True, text=True, cwd=tmp_path)
    assert recorder.returncode == 0 and int(recorder.stdout) > 1000, recorder.stderr
    # a desktop bot in a web-only install: which extra to add
    desktop = subprocess.run([backroom, "demo", "ledger", "--help"], capture_output=True, text=True, env=env)
    assert desktop.returncode == 0
    other = subprocess.run([backroom, "init", str(tmp_path / "desk")], capture_output=True, text=True)
    assert other.returncode == 0
    (tmp_path / "desk" / "selectors" / "ledger.yaml").write_text((ROOT / "selectors" / "ledger.yaml").read_text())
    shutil.copytree(ROOT / "selectors" / "ledger", tmp_path / "desk" / "selectors" / "ledger")
    (tmp_path / "desk" / "recipes" / "look.yaml").write_text(
        "name: look\napp: ledger\nsteps:\n  - wait_for: main.banner\n")
    (tmp_path / "desk" / "bots" / "desk").mkdir()
    (tmp_path / "desk" / "bots" / "desk" / "bot.yaml").write_text(
        "name: desk\ninput: {type: excel, sheet: Orders, reference: order_ref,\n"
        "  fields: {order_ref: {column: Order Ref, type: text}}}\nrecipes: [look]\n")
    for command in ("run", "check"):   # check refuses what run would
        refused = subprocess.run([backroom, command, "desk", "--input", "samples/orders.xlsx"],
                                 cwd=tmp_path / "desk", capture_output=True, text=True, env=env, timeout=120)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert "pip install 'backroom[desktop]'" in refused.stdout + refused.stderr
