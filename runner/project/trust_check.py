"""What `backroom check` says about a bot's guarantees: every place where a green run would prove less than
usual, in one list. `check --strict` refuses a bot with any; the recorder prints the same list when it ends.

The risks: a step that saves with no key read after it, a key read without a pattern, a read found only by
its position in the page, a save that nothing can look up after a failure (no verify recipe), a sign-on on a
screen shared with the form it saves or on a screen not known as the sign-on, and values not read back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from .bot import Bot
from .recipe import INPUT_ACTIONS, Recipe, RecipeBook, Step
from .selector_map import SelectorMap, is_positional
from .settings import Settings


@dataclass(frozen=True)
class Risk:
    where: str          # recipes/<file>.yaml:<line>
    kind: str           # a short word a test or a tool can sort by
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


def _screen(name: str | None) -> str:
    return (name or "").split(".", 1)[0]


def _value_text(step: Step) -> str:
    return str(getattr(step.args, "value", "") or "")


def _ordered_steps(roots: list[str], book: RecipeBook) -> list[tuple[Recipe, Step]]:
    """The bot's steps in the order a work item meets them, called recipes in place."""
    seen: list[tuple[Recipe, Step]] = []

    def visit(name: str, chain: tuple[str, ...]) -> None:
        if name in chain or name not in book.recipes:
            return
        recipe = book[name]
        for step in recipe.steps:
            seen.append((recipe, step))
            if step.action == "call":
                visit(step.args.recipe, chain + (name,))

    for root in roots:
        visit(root, ())
    return seen


def bot_risks(bot: Bot, book: RecipeBook, maps: dict[str, SelectorMap], settings: Settings) -> list[Risk]:
    return recipe_risks(bot.recipes, bot.verify, f"bots/{bot.name}/bot.yaml", book, maps, settings)


def recipe_risks(recipes: list[str], verify: str | None, bot_file: str, book: RecipeBook,
                 maps: dict[str, SelectorMap], settings: Settings) -> list[Risk]:
    """The risks of keying recipes run in this order (`book` holds them and what they call), with `verify`
    as the bot's verify recipe; `bot_file` names where a verify recipe would be set."""
    risks: list[Risk] = []
    ordered = _ordered_steps(recipes, book)
    risks += _saves_without_key_reads(verify, bot_file, ordered)
    risks += _reads(book, maps)
    risks += _sign_ons(book, maps)
    risks += _unverified(book, settings)
    # one line per place and kind, in the order of the files
    unique = {(r.where, r.kind): r for r in risks}
    return sorted(unique.values(), key=lambda r: (r.where.rsplit(":", 1)[0], _line(r.where), r.kind))


def _line(where: str) -> int:
    tail = where.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _saves_without_key_reads(verify: str | None, bot_file: str, ordered: list[tuple[Recipe, Step]]) -> Iterable[Risk]:
    for index, (recipe, step) in enumerate(ordered):
        if not step.commits:
            continue
        if verify is None:
            yield Risk(step.where, "no_verify", f"{step.describe()} saves (commits: true) and {bot_file} "
                       "has no verify recipe: an item that fails after it goes to a person instead of being retried")
        later = [s for r, s in ordered[index + 1:] if r.app == recipe.app and s.action == "read" and s.key_step]
        if not later and not any(s.action == "complete_if" for _, s in ordered[index + 1:]):
            yield Risk(step.where, "write_without_key_read",
                       f"{step.describe()} saves, and no key read follows it (a read with key_step: true): the "
                       f"result cannot be tied to the record {recipe.app} made, nor a repeated number noticed")
    apps = {r.app for r, _ in ordered}
    for app in sorted(apps):
        steps = [(r, s) for r, s in ordered if r.app == app]
        keys_items = any(s.action in INPUT_ACTIONS and "item." in str(s.args.model_dump()) for _, s in steps)
        if keys_items and not any(s.commits for _, s in steps) and \
                not any(s.key_step and s.action == "read" for _, s in steps):
            recipe = steps[0][0]
            yield Risk(f"{recipe.path.parent.name}/{recipe.path.name}:1", "write_without_key_read",
                       f"nothing reads the number {app} gives a record (a read with key_step: true): a green run "
                       "cannot say which record each item made")


def _reads(book: RecipeBook, maps: dict[str, SelectorMap]) -> Iterable[Risk]:
    for recipe in book.recipes.values():
        selector_map = maps.get(recipe.app)
        for step in recipe.steps:
            if step.action != "read":
                continue
            if step.key_step and step.args.pattern is None:
                yield Risk(step.where, "key_read_without_pattern", f"key read {step.args.target} has no pattern: any "
                           "value that is not empty and not another item's is accepted")
            if selector_map is None or step.args.target not in selector_map:
                continue
            selector = selector_map.get(step.args.target)
            if all(is_positional(c) for c in selector.candidates):
                what = "key read" if step.key_step else "read"
                yield Risk(step.where, "positional_read",
                           f"{what} {step.args.target} is found only by its position in the page "
                           f"({selector.candidates[0].describe()}): once the page holds another row it reads another "
                           "record's value. Find it by the item's own values, its label or the message it is in")


def _sign_ons(book: RecipeBook, maps: dict[str, SelectorMap]) -> Iterable[Risk]:
    for recipe in book.recipes.values():
        selector_map = maps.get(recipe.app)
        if selector_map is None or selector_map.kind != "web":
            continue
        fills = [s for s in recipe.steps if s.action in INPUT_ACTIONS and s.target]
        # a sign-on types the app's user and a secret on one screen
        sign_on_screens = {_screen(s.target) for s in fills if "secrets." in _value_text(s)} & \
            {_screen(s.target) for s in fills if "app.user" in _value_text(s)}
        for screen in sorted(sign_on_screens):
            first = next(s for s in fills if _screen(s.target) == screen)
            if not selector_map.signs_on(screen):
                yield Risk(first.where, "sign_on_screen",
                           f"the sign-on is typed on screen '{screen}', which is not known as a sign-on screen: what "
                           f"it sends would be taken for the item's first save. Name the screen login in "
                           f"selectors/{selector_map.path.name}, or list it under sign_on_screens")
            saved = [s for s in recipe.steps if _screen(s.target) == screen and
                     (s.commits or s.action in INPUT_ACTIONS and "item." in str(s.args.model_dump()))]
            if saved:
                yield Risk(saved[0].where, "sign_on_shares_screen",
                           f"screen '{screen}' holds both the sign-on and the form it saves: the re-read before "
                           "saving looks for the sign-on's fields too. Give the sign-on fields a screen of their own "
                           "(login) in the selector map")


def _unverified(book: RecipeBook, settings: Settings) -> Iterable[Risk]:
    for recipe in book.recipes.values():
        app_verifies = settings.apps[recipe.app].verify if recipe.app in settings.apps else True
        for step in recipe.steps:
            if step.action in INPUT_ACTIONS and not step.verify:
                yield Risk(step.where, "not_read_back", f"{step.describe()} is not read back (verify: false)")
            elif step.action in INPUT_ACTIONS and not app_verifies:
                yield Risk(step.where, "not_read_back", f"{step.describe()} is not read back (app '{recipe.app}' has "
                           "verify: false in backroom.yaml)")


def trust_warnings(bot: Bot, book: RecipeBook, settings: Settings,
                   maps: dict[str, SelectorMap] | None = None) -> list[str]:
    """The risks as lines of text (what `check` prints)."""
    return [str(r) for r in bot_risks(bot, book, maps or {}, settings)]
