"""Ctrl-C while drivers start is held until the start is done, then acted on."""

from __future__ import annotations

import os
import signal

import pytest

from runner.interrupts import interrupts_deferred


def test_an_interrupt_during_a_start_is_raised_after_it():
    finished = False
    with pytest.raises(KeyboardInterrupt):
        with interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            finished = True  # the start went on to its end
    assert finished
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_programs_own_handler_gets_the_held_interrupt():
    calls = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: calls.append(signum))
    try:
        with interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            assert calls == []
        assert calls == [signal.SIGINT]
    finally:
        signal.signal(signal.SIGINT, previous)


def test_no_interrupt_no_exception():
    with interrupts_deferred():
        pass
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_program_started_meanwhile_does_not_get_the_operators_ctrl_c():
    """Ctrl-C reaches the whole process group; a program started while interrupts are held keeps running."""
    import subprocess
    import sys

    with pytest.raises(KeyboardInterrupt):
        with interrupts_deferred():
            child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(child.pid, signal.SIGINT)   # what a terminal's Ctrl-C does to the group
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            child.wait(timeout=1)   # still running: the held signal was inherited as blocked
    finally:
        child.kill()
        child.wait()


def test_a_failure_caused_by_the_interrupt_ends_as_the_interrupt():
    with pytest.raises(KeyboardInterrupt) as raised:
        with interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            raise ConnectionError("Connection closed while reading from the driver")
    assert isinstance(raised.value.__cause__, ConnectionError)
    with pytest.raises(ValueError):   # without an interrupt, a failure is what it is
        with interrupts_deferred():
            raise ValueError("a real failure")


@pytest.mark.web
def test_ctrl_c_while_the_browser_starts_ends_the_run_with_130_and_gives_the_item_back(project, billing, tmp_path):
    """A browser that takes seconds to start; Ctrl-C to the run's whole process group meanwhile."""
    import subprocess
    import sys
    import time

    import yaml

    from runner import load_settings
    from runner.work_queue import ItemState, open_queue

    from .conftest import make_orders

    started = tmp_path / "browser-starting"
    wrapper = tmp_path / "slow-chromium"
    chromium = load_settings(project).browser.launch_options().get("executable_path", "/usr/bin/chromium")
    wrapper.write_text(f'#!/bin/sh\ntouch "{started}"\nsleep 3\nexec "{chromium}" "$@"\n')
    wrapper.chmod(0o755)
    config = yaml.safe_load((project / "backroom.yaml").read_text())
    config["browser"]["executable_path"] = str(wrapper)
    (project / "backroom.yaml").write_text(yaml.safe_dump(config))
    orders, rows = make_orders(tmp_path / "orders.xlsx", 1, seed=61)
    run = subprocess.Popen([sys.executable, "-m", "runner.cli", "run", "rekey-orders", "--input", str(orders),
                            "--app-url", f"billing={billing.url}"], cwd=project, start_new_session=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while not started.exists():
        assert run.poll() is None and time.monotonic() < deadline, run.stdout.read() if run.poll() is not None else ""
        time.sleep(0.05)
    os.killpg(run.pid, signal.SIGINT)
    output, _ = run.communicate(timeout=120)
    assert run.returncode == 130, output
    assert "defect" not in output and "Internal error" not in output, output
    assert "Run stopped: interrupted" in output
    queue = open_queue(project / load_settings(project).queue_path)
    try:
        item = queue.get("rekey-orders", rows[0][0])
        assert item.state == ItemState.PENDING, item
    finally:
        queue.close()
