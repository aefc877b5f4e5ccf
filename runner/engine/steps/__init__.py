"""The recipe actions, one handler each, registered with the screen capability they need."""

from . import flow, inputs, navigation, reading  # noqa: F401 - each module registers its handlers
from .registry import HANDLERS, StepEngine, StepHandler, StepRun, handles

__all__ = ["HANDLERS", "StepEngine", "StepHandler", "StepRun", "handles"]
