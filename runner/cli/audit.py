"""`backroom audit`: verify runs' evidence, follow one item, export audit packs, prune, make keys."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..errors import ConfigurationError, EvidenceProblem
from ..project.settings import load_settings

audit_app = typer.Typer(help="Audit evidence: verify runs, an item's chain of custody, audit packs, retention.",
                        no_args_is_help=True)
out = Console(highlight=False)
ProjectOption = typer.Option(Path("."), "--project", "-p", help="Folder with bots/ and backroom.yaml.",
                             envvar="BACKROOM_PROJECT")
PublicKeyOption = typer.Option(None, "--public-key", "--key", help="The signing key's public half (PEM); "
                               "default: audit.public_key in backroom.yaml.")
FingerprintOption = typer.Option(None, "--fingerprint", help="The public key's SHA-256 as given to you: a key "
                                 "with another one is refused (default: audit.public_key_sha256 in backroom.yaml).")


def _logs(project: Path) -> tuple[Path, object]:
    settings = load_settings(project)
    return Path(project) / settings.logs_dir, settings


def _bot_dirs(logs: Path, bot: Optional[str]) -> list[Path]:
    if bot:
        folder = logs / bot
        if not folder.is_dir():
            raise ConfigurationError(f"no runs of bot '{bot}' under {logs.name}/")
        return [folder]
    from ..audit.verify import bot_folders

    return bot_folders(logs)


def _evidence_heads(project: Path, settings) -> tuple[dict | None, list]:
    """Each bot's chain head as the queue recorded it, and the runs its run registry lists; (None, []) when the
    queue database is not here."""
    from ..work_queue import open_queue, queue_exists

    if not queue_exists(settings.queue_url, Path(project)):
        return None, []
    queue = open_queue(settings.queue_url, Path(project))
    try:
        return queue.evidence_heads(), queue.runs()
    finally:
        queue.close()


def find_run_dir(logs: Path, run: str) -> Path:
    """A run by its id (searched under every bot) or by its folder."""
    path = Path(run)
    if path.is_dir() and ((path / "events.jsonl").exists() or (path / "manifest.json").exists()):
        return path
    matches = [d / run for d in _bot_dirs(logs, None) if (d / run).is_dir()]
    if not matches:
        raise ConfigurationError(f"run {run!r} not found under {logs.name}/<bot>/",
                                 "Give a run id as the reports name it (e.g. 20261123-041502-9c1e) or a run folder.")
    return matches[0]


def _say(text: str, style: str = "") -> None:
    out.print(Text(text, style=style))


@audit_app.command("verify")
def verify(run: Optional[str] = typer.Argument(None, help="A run id or run folder."),
           all_runs: bool = typer.Option(False, "--all", help="Every run (of --bot, or of every bot), and each "
                                         "bot's chain of runs."),
           bot: Optional[str] = typer.Option(None, "--bot", help="Only this bot's runs (with --all)."),
           public_key: Optional[Path] = PublicKeyOption, fingerprint: Optional[str] = FingerprintOption,
           project: Path = ProjectOption) -> None:
    """Check signatures, the chain of events and every artifact's hash; say what is missing, altered,
    inserted or out of order. Exit code 4 when anything is."""
    from ..audit.signing import load_verifier, unpinned_fingerprint
    from ..audit.verify import EvidenceVerification, verify_evidence, verify_run
    from ..run import run_is_running

    logs, settings = _logs(project)
    if (run is None) == (not all_runs):
        raise ConfigurationError("give a run, or --all")
    heads, registered = _evidence_heads(project, settings)
    if bot and not (logs / bot).is_dir() and bot not in (heads or {}):
        raise ConfigurationError(f"no runs of bot '{bot}' under {logs.name}/")
    verifier = load_verifier(settings, project, public_key, fingerprint)
    if fingerprint is None and public_key is None and (unpinned := unpinned_fingerprint(settings, project)):
        _say(f"Warning: the public key {settings.audit.public_key} is not pinned: whoever can write "
             f"{settings.logs_dir}/ could replace it and re-sign runs. Pin it in backroom.yaml "
             f"(audit: public_key_sha256: {unpinned}) or verify with --fingerprint.", "yellow")
    if run is not None:
        run_dir = find_run_dir(logs, run)
        found = EvidenceVerification(runs=[verify_run(run_dir, verifier, running=run_is_running(run_dir)
                                                      and not (run_dir / "manifest.json").exists())])
    else:
        if heads is None:
            from ..work_queue import describe_queue

            _say(f"Note: no queue database ({describe_queue(settings.queue_url, Path(project))}): runs deleted "
                 "from the end of a chain cannot be "
                 "noticed without it.", "yellow")
        found = verify_evidence(logs, verifier, heads, bot, running=run_is_running,
                                registered=registered)
    for finding in found.removed:
        _say(f"FAIL {finding.subject}: {finding}", "bold red")
    for result in found.runs:
        mark, style = ("OK  ", "green") if result.ok else ("FAIL", "bold red")
        _say(f"{mark} {result.bot}/{result.run}: {result.events} events, {result.artifacts} artifacts"
             + (f", signed ({result.signed_by})" if result.signed_by else ""), style)
        for finding in result.findings:
            _say(f"     {finding}", "red" if finding.is_problem else "yellow")
    for name, findings in found.chains.items():
        _say(f"{'OK  ' if not findings else 'FAIL'} {name}: chain of runs", "green" if not findings else "bold red")
        for finding in findings:
            _say(f"     {finding}", "red")
    if not found.runs and not found.removed:
        _say("no runs to verify")
    if found.problems:
        raise EvidenceProblem(f"{found.problems} problem(s): the evidence above is not intact")
    _say("Every run verified: signatures, chains and artifacts intact.", "green")


@audit_app.command("close")
def close(run: str = typer.Argument(..., help="The killed run's id or folder."),
          reason: str = typer.Option(..., "--reason", help="Why the run ended without its seal (what happened)."),
          by: str = typer.Option(..., "--by", help="Who closes it."),
          project: Path = ProjectOption) -> None:
    """Seal what a killed run left, with who closed it, when and why: verification then shows the
    closure instead of an unfinished run. Refuses a run whose events are not intact."""
    from ..audit.closing import close_killed_run
    from ..run import chain_sealing, run_is_running

    logs, settings = _logs(project)
    run_dir = find_run_dir(logs, run)
    with chain_sealing(settings.queue_url, Path(project), run_dir.parent.name) as record_head:
        closure, seal = close_killed_run(project, settings, run_dir, reason=reason, by=by,
                                         running=run_is_running(run_dir))
        record_head(seal)
    _say(f"Closed {run_dir.parent.name}/{run_dir.name}: killed at {closure['killed_at']}, sealed up to event "
         f"{closure['events']}, closed by {by}.", "green")


@audit_app.command("item")
def item(reference: str = typer.Argument(..., help="The work item's reference, e.g. SO-0700001."),
         bot: Optional[str] = typer.Option(None, "--bot", help="Only this bot's history."),
         project: Path = ProjectOption) -> None:
    """Every event for one work item across runs and people: intake, attempts, screens, values keyed,
    review decisions, the final outcome and what the system answered."""
    from ..audit.custody import item_custody

    logs, settings = _logs(project)
    histories = item_custody(project, settings.logs_dir, settings.queue_url, reference, bot)
    if not histories:
        raise ConfigurationError(f"no history for item {reference!r}" + (f" of bot {bot}" if bot else ""),
                                 "Check the reference (as in the input file's reference column).")
    for custody in histories:
        table = Table(title=f"{custody.bot}: {custody.reference}", title_justify="left", expand=True)
        for column in ("time (UTC)", "source", "who", "what", "detail"):
            table.add_column(column, overflow="fold")
        for entry in custody.entries:
            table.add_row(entry.at[:19].replace("T", " "), entry.source, entry.who, Text(entry.what),
                          Text(entry.detail + (f" [{entry.screenshot}]" if entry.screenshot else "")))
        out.print(table)
        answer = ", ".join(f"{k} {v}" for k, v in (custody.result.get("vars") or {}).items())
        _say(f"Now: {custody.state or 'not in the queue'}" + (f"; the system answered {answer}" if answer else "")
             + f"; runs: {', '.join(custody.runs) or 'none'}")


@audit_app.command("export")
def export(run: str = typer.Argument(..., help="A run id or run folder."),
           fmt: str = typer.Option(..., "--format", help="docx (a document to file) or xlsx (one row per event)."),
           out_path: Optional[Path] = typer.Option(None, "--out", help="Where to write (default: beside the run, "
                                                   "audit-pack-<run>.<format>)."),
           public_key: Optional[Path] = PublicKeyOption, project: Path = ProjectOption) -> None:
    """Write an audit pack for one run, with the result of verifying it."""
    from ..audit.pack import export_docx, export_xlsx
    from ..audit.signing import load_verifier
    from ..audit.verify import verify_run

    if fmt not in ("docx", "xlsx"):
        raise ConfigurationError(f"--format {fmt}: docx or xlsx")
    logs, settings = _logs(project)
    run_dir = find_run_dir(logs, run)
    verification = verify_run(run_dir, load_verifier(settings, project, public_key))
    target = out_path or logs / "audit" / "packs" / f"audit-pack-{run_dir.name}.{fmt}"
    written = (export_docx if fmt == "docx" else export_xlsx)(run_dir, verification, target)
    _say(f"Wrote {written}" + ("" if verification.ok else " (verification found problems: see its last section)"))


@audit_app.command("prune")
def prune(dry_run: bool = typer.Option(False, "--dry-run", help="Say what would be deleted; delete nothing."),
          project: Path = ProjectOption) -> None:
    """Delete screenshots older than audit.screenshots_keep_days; events, hashes and manifests stay."""
    from ..audit.retention import prune_screenshots
    from ..audit.signing import load_signer

    logs, settings = _logs(project)
    days = settings.audit.screenshots_keep_days
    if days is None:
        _say("No retention policy: set audit.screenshots_keep_days in backroom.yaml to prune screenshots.")
        return
    report = prune_screenshots(logs, days, load_signer(settings, project), dry_run=dry_run)
    verb = "Would prune" if dry_run else "Pruned"
    _say(f"{verb} {report.files} screenshot(s), {report.bytes / 1e6:.1f} MB, from {report.runs} run(s) "
         f"older than {days} days.")


@audit_app.command("keygen")
def keygen(force: bool = typer.Option(False, "--force", help="Replace an existing key pair (runs signed with "
                                      "the old key then verify only with the old public key)."),
           project: Path = ProjectOption) -> None:
    """Make the Ed25519 key pair that signs run manifests (audit.private_key, audit.public_key)."""
    from ..audit.signing import generate_key_pair, key_path, public_key_fingerprint

    settings = load_settings(project)
    private_path, public_path = key_path(project, settings.audit.private_key), key_path(project, settings.audit.public_key)
    if private_path.exists() and not force:
        raise ConfigurationError(f"{settings.audit.private_key} exists", "Add --force to replace it.")
    if force:
        private_path.unlink(missing_ok=True)
    generate_key_pair(private_path, public_path)
    _say(f"Private key: {settings.audit.private_key} (keep it where only Backroom's runs can read it)")
    _say(f"Public key:  {settings.audit.public_key} (give it to auditors: backroom audit verify --public-key)")
    _say("Pin it in backroom.yaml, outside the evidence, so a replaced key is noticed:")
    _say(f"  audit:\n    public_key_sha256: {public_key_fingerprint(public_path)}")

