"""Errors the toolkit raises for bad input; the CLI prints them as one line."""


class ToolkitError(ValueError):
    """A problem with the user's input, with a message that names the fix."""
