"""Backroom's errors: a small hierarchy of user-facing messages, mapped to exit codes in one place.

Every message says what happened, where (file:line, workbook!cell, step and selector) and
what to do next. No message ever carries a secret value.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ITEMS_FAILED = 1      # the run finished, some work items need a human
    BAD_INPUT = 2         # input file, recipe, selector map or bot definition is wrong
    ENVIRONMENT = 3       # the application or the browser cannot be reached
    EVIDENCE_FAILED = 4   # backroom audit verify found evidence missing, altered, inserted or out of order
    INTERRUPTED = 130     # stopped by the operator (Ctrl-C)
    INTERNAL = 70         # a defect in Backroom itself


class BackroomError(Exception):
    """Base of all errors Backroom reports to a person."""

    exit_code = ExitCode.INTERNAL
    hint = ""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        if hint is not None:
            self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  -> {self.hint}" if self.hint else self.message


class DataError(BackroomError):
    """Something a person wrote or supplied is wrong; nothing ran."""

    exit_code = ExitCode.BAD_INPUT


class RecipeError(DataError):
    hint = "Fix the recipe file and run again."


class SelectorMapError(DataError):
    hint = "Fix the selector map and run again."


class BotDefinitionError(DataError):
    hint = "Fix bots/<bot>/bot.yaml and run again."


class InputFileError(DataError):
    hint = "Correct the input file and run again; nothing was keyed."


class ConfigurationError(DataError):
    hint = "Fix backroom.yaml or the command-line option and run again."


class SecretMissingError(DataError):
    def __init__(self, name: str):
        env = f"BACKROOM_SECRET_{name.upper()}"
        super().__init__(
            f"secret '{name}' is not set",
            f"Set the environment variable {env}, or store it with: keyring set backroom {name}",
        )


class EnvironmentProblem(BackroomError):
    """The machine, the browser or the legacy application is not usable."""

    exit_code = ExitCode.ENVIRONMENT


class QueueUnreachable(EnvironmentProblem):
    """The work queue's database server could not be reached (after retrying)."""

    hint = "Check that the database server is running and reachable from this machine; the run can be started again."
    nothing_done = False   # the server ended the session before doing anything of the call: safe to try again


class AppUnreachableError(EnvironmentProblem):
    hint = "Check that the application is running and that its url (backroom.yaml apps:, or --app-url) is right."


class BrowserLaunchError(EnvironmentProblem):
    hint = "Install Chromium (apt-get install chromium) or set browser: in backroom.yaml."


class StepFailure(BackroomError):
    """A step of a recipe could not be done. Raised inside a work item; the item fails, the run goes on."""

    exit_code = ExitCode.ITEMS_FAILED
    kind = "system"  # retrying may help: the screen or the network failed

    def __init__(self, message: str, hint: str | None = None, *, step: str = "", selector: str = ""):
        super().__init__(message, hint)
        self.step = step
        self.selector = selector
        self.screenshot: tuple[str, str] | None = None  # (file, sha256) of the screen when it failed
        self.masked = False  # its message held a secret the application repeated (masked in the message)


class SelectorNotFound(StepFailure):
    hint = "The screen may have changed or be slow: look at the screenshot, then fix the selector map."


class AssertionFailed(StepFailure):
    kind = "business"


class BusinessException(StepFailure):
    """The data is wrong for the business (an unknown customer, a closed account): a person must decide."""

    kind = "business"


class SystemException(StepFailure):
    """The legacy system failed (busy, timed out): the item may be retried."""

    kind = "system"


class EvidenceProblem(BackroomError):
    """Verification found a run's evidence incomplete or changed."""

    exit_code = ExitCode.EVIDENCE_FAILED
    hint = "Keep this output with the evidence; restore the named files from a backup or an audit pack."


def exit_code_for(error: BaseException) -> ExitCode:
    """The single mapping from an error to the process exit code."""
    if isinstance(error, KeyboardInterrupt):
        return ExitCode.INTERRUPTED
    if isinstance(error, BackroomError):
        return error.exit_code
    return ExitCode.INTERNAL


class DisplayError(EnvironmentProblem):
    hint = ("Run with --virtual-display to start a virtual screen (needs Xvfb: apt-get install xvfb), "
            "or set DISPLAY to a running X server.")


class DesktopAppError(EnvironmentProblem):
    hint = "Check the app's command in backroom.yaml (apps: <app>: command:) and run it by hand to see why."
