"""Errors that are the user's to fix (bad file, bad value): shown as one line, exit code 2."""


class InputError(ValueError):
    """A problem with something the user gave us; the message names the input."""
