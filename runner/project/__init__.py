"""A project's definitions: settings, bots, recipes, selector maps, secrets and the templates in them."""
