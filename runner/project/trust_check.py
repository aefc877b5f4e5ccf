"""What `backroom check` says about a bot's guarantees: where a green run would prove less than usual."""

from __future__ import annotations

from .bot import Bot
from .recipe import INPUT_ACTIONS, RecipeBook
from .settings import Settings


def trust_warnings(bot: Bot, book: RecipeBook, settings: Settings) -> list[str]:
    """Commit steps that nothing can look up after a failure, and values that are never read back."""
    warnings = []
    for recipe in book.recipes.values():
        app_verifies = (settings.apps.get(recipe.app).verify if recipe.app in settings.apps else True)
        for step in recipe.steps:
            if step.commits and bot.verify is None:
                warnings.append(f"{step.where}: {step.describe()} saves (commits: true) and bots/{bot.name}/bot.yaml "
                                "has no verify recipe: an item that fails after it goes to a person instead of "
                                "being retried")
            if step.action in INPUT_ACTIONS and not step.verify:
                warnings.append(f"{step.where}: {step.describe()} is not read back (verify: false)")
            elif step.action in INPUT_ACTIONS and not app_verifies:
                warnings.append(f"{step.where}: {step.describe()} is not read back (app '{recipe.app}' has "
                                "verify: false in backroom.yaml)")
            if step.action == "read" and step.key_step and step.args.pattern is None:
                warnings.append(f"{step.where}: key read {step.args.target} has no pattern: any value that is not "
                                "empty and not another item's is accepted")
    return warnings
