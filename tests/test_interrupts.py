"""Ctrl-C while drivers start is held until the start is done, then acted on."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from runner.run.interrupts import interrupts_deferred


def _ctrl_c() -> None:
    """SIGINT to this thread. A signal sent to the process may be taken by any thread that does not
    block it (a library's worker thread), whose handler can then trip after the test has moved on."""
    signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)


def test_an_interrupt_during_a_start_is_raised_after_it():
    finished = False
    with pytest.raises(KeyboardInterrupt):
        with interrupts_deferred():
            _ctrl_c()
            finished = True  # the start went on to its end
    assert finished
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_programs_own_handler_gets_the_held_interrupt():
    calls = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: calls.append(signum))
    try:
        with interrupts_deferred():
            _ctrl_c()
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

    # the child says whether SIGINT is blocked for it, then runs until its input is closed
    script = ("import signal, sys; print(signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, []), flush=True); "
              "sys.stdin.read()")
    with pytest.raises(KeyboardInterrupt):
        with interrupts_deferred():
            child = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
            _ctrl_c()
    try:
        assert child.stdout.readline().strip() == "True"   # the held signal was inherited as blocked
        os.kill(child.pid, signal.SIGINT)   # what a terminal's Ctrl-C does to the group
        child.stdin.close()
        assert child.wait(timeout=30) == 0   # it ran to its own end: the Ctrl-C did not stop it
    finally:
        child.kill()
        child.wait()


def test_a_failure_caused_by_the_interrupt_ends_as_the_interrupt():
    with pytest.raises(KeyboardInterrupt) as raised:
        with interrupts_deferred():
            _ctrl_c()
            raise ConnectionError("Connection closed while reading from the driver")
    assert isinstance(raised.value.__cause__, ConnectionError)
    with pytest.raises(ValueError):   # without an interrupt, a failure is what it is
        with interrupts_deferred():
            raise ValueError("a real failure")


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.web
@pytest.mark.parametrize("started_from", ["a terminal", "a background job"])
def test_ctrl_c_while_the_browser_starts_ends_the_run_with_130_and_gives_the_item_back(project, billing, tmp_path,
                                                                                       started_from):
    """A browser still starting when Ctrl-C reaches the run's whole process group. Started from a background
    job (`backroom scheduler &` in a script), a process inherits SIGINT ignored: the run still takes it."""
    import subprocess
    import sys

    import yaml

    from runner import load_settings
    from runner.work_queue import ItemState, open_queue

    from .conftest import make_orders, wait_until

    started, go = tmp_path / "browser-starting", tmp_path / "browser-may-start"
    wrapper = tmp_path / "slow-chromium"
    chromium = load_settings(project).browser.launch_options().get("executable_path", "/usr/bin/chromium")
    # a browser that is still starting until the test lets it go
    wrapper.write_text(f'#!/bin/sh\ntouch "{started}"\nwhile [ ! -e "{go}" ]; do sleep 0.05; done\n'
                       f'exec "{chromium}" "$@"\n')
    wrapper.chmod(0o755)
    config = yaml.safe_load((project / "backroom.yaml").read_text())
    config["browser"]["executable_path"] = str(wrapper)
    (project / "backroom.yaml").write_text(yaml.safe_dump(config))
    orders, rows = make_orders(tmp_path / "orders.xlsx", 1, seed=61)
    run = subprocess.Popen([sys.executable, "-m", "runner.cli", "run", "rekey-orders", "--input", str(orders),
                            "--app-url", f"billing={billing.url}"], cwd=project, start_new_session=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           preexec_fn=_ignore_sigint if started_from == "a background job" else None)
    wait_until(started.exists, 60, "the browser to start starting", run)
    os.killpg(run.pid, signal.SIGINT)
    go.touch()
    output, _ = run.communicate(timeout=120)
    assert run.returncode == 130, output
    assert "defect" not in output and "Internal error" not in output, output
    assert "Run stopped: interrupted" in output
    queue = open_queue(load_settings(project).queue_url, project)
    try:
        item = queue.get("rekey-orders", rows[0][0])
        assert item.state == ItemState.PENDING, item
    finally:
        queue.close()
