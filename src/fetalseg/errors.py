"""Errors that are the user's to fix (bad file, bad value): shown as one line, exit code 2."""


class InputError(ValueError):
    """A problem with something the user gave us; the message names the input."""


#: optional dependency groups (``pip install "fetalseg[NAME]"``) and the module that tells
#: whether each is installed
EXTRAS = {"train": "torch", "openvino": "openvino", "video": "av", "plots": "matplotlib"}


def has_extra(extra: str) -> bool:
    """Whether the optional dependency group ``extra`` (a key of :data:`EXTRAS`) is installed."""
    import importlib.util

    return importlib.util.find_spec(EXTRAS[extra]) is not None


def require_extra(extra: str, what: str) -> None:
    """Raise :class:`InputError` naming ``pip install "fetalseg[extra]"`` when ``what`` (a
    command or option) needs an optional dependency group that is not installed."""
    module = EXTRAS[extra]
    if not has_extra(extra):
        raise InputError(
            f"{what} needs {module}, which the core install leaves out: "
            f'pip install "fetalseg[{extra}]"'
        )
