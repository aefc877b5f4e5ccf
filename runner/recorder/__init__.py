"""The recorder: build a recipe and its selectors by doing the work once on the legacy screen."""
