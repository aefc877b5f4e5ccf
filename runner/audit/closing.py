"""Closing a killed run: what it left is sealed with a person's name, the time and the reason, so
verification explains the run instead of reporting it unfinished for ever."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

from ..errors import ConfigurationError, EvidenceProblem
from .manifest import MANIFEST_FILE, Seal, chain_entries, seal_run
from .signing import load_signer, load_verifier
from .verify import killed_while_sealing, chained_runs, killed_run


def close_killed_run(project: Path, settings, run_dir: Path, reason: str, by: str,
                     running: bool = False) -> tuple[dict, Seal]:
    """Seal a killed run's remains with a closure; returns the closure as sealed and the seal."""
    run_dir, bot = Path(run_dir), Path(run_dir).parent.name
    if not reason.strip() or not by.strip():
        raise ConfigurationError("a closure needs a reason and a name (--reason, --by)")
    if running:   # the bot holds its lock now (run/lock.py): its newest run is not killed
        raise ConfigurationError(f"{bot} is running: a run is closed only after it was killed",
                                 "Wait for the run to end, or stop it first.")
    if run_dir.name in chained_runs(run_dir.parent):
        raise ConfigurationError(f"run {run_dir.name} is sealed: there is nothing to close",
                                 "backroom audit verify shows its state.")
    signer = load_signer(settings, project)
    if (run_dir / MANIFEST_FILE).exists():
        # killed between its manifest and its chain line: sealed again below with the closure
        if not killed_while_sealing(run_dir, chain_entries(run_dir.parent), load_verifier(settings, project)):
            raise EvidenceProblem(f"run {run_dir.name} has a manifest that does not follow its bot's chain: "
                                  "that is not what a killed run leaves", "backroom audit verify names the problem.")
        os.remove(run_dir / MANIFEST_FILE)
    state = killed_run(run_dir)
    if not state.intact:
        raise EvidenceProblem(f"run {run_dir.name}: its events are not intact after event {state.events}; a killed "
                              "run's remains are closed only as they were left",
                              "backroom audit verify names what changed.")
    closure = {"by": by.strip(), "reason": reason.strip(),
               "closed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
               "killed_at": state.killed_at or "before its first event", "events": state.events, "torn": state.torn}
    return closure, seal_run(run_dir, run_dir.name, bot, state.events, state.last_sha256, signer, closure=closure)
