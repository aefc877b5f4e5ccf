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
