"""State-dict plumbing: torch's wording for every problem, and loads that are all or nothing.

:meth:`Module.load_state_dict` first *plans*: every module checks its own entries and
appends the updates it would make to a list of steps, and reports problems in the
words torch uses.  Only when no module reported a problem do the steps run, so a
failed load changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from .._backends import backend_of, copied
from .._typing import Array

__all__ = [
    "IncompatibleKeys",
    "LoadPlan",
    "StateDictError",
    "size_mismatch",
    "wrong_type",
]


class StateDictError(RuntimeError, ValueError):
    """A state dict that does not fit the module; nothing was loaded.

    A ``RuntimeError``, as torch raises, and a ``ValueError``, as lucid raises for every
    bad input, so either ``except`` clause catches it.
    """


class IncompatibleKeys(NamedTuple):
    """What :meth:`Module.load_state_dict` returns (torch's ``_IncompatibleKeys``)."""

    missing_keys: list[str]
    unexpected_keys: list[str]

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return (
            f"_IncompatibleKeys(missing_keys={self.missing_keys}, "
            f"unexpected_keys={self.unexpected_keys})"
        )

    def __str__(self) -> str:
        return self.__repr__()


def wrong_type(key: str, value: object) -> str:
    """torch's message for a state-dict entry that is not an array."""
    return (
        f'While copying the parameter named "{key}", expected an array from '
        f"checkpoint but received {type(value).__name__}"
    )


def size_mismatch(key: str, got: tuple[int, ...], want: tuple[int, ...]) -> str:
    """torch's message for an entry whose shape differs from the module's (params and buffers)."""
    return (
        f"size mismatch for {key}: copying a param with shape {got} from checkpoint, "
        f"the shape in current model is {want}."
    )


class LoadPlan:
    """The checks and planned updates of one ``load_state_dict`` call.

    Modules report problems with :meth:`error` and planned updates with :meth:`step`;
    :meth:`run` raises :class:`StateDictError` listing every problem, or applies every
    step.
    """

    def __init__(self, state_dict: Mapping[str, Any]) -> None:
        self.state_dict = state_dict
        self.steps: list[Callable[[], None]] = []
        self.errors: list[str] = []
        self.expected: list[str] = []

    def error(self, message: str) -> None:
        self.errors.append(message)

    def step(self, update: Callable[[], None]) -> None:
        self.steps.append(update)

    def checked_value(self, key: str, like: Array) -> Array | None:
        """``state_dict[key]`` converted to ``like``'s placement, or ``None`` after an error.

        The key must be present.  Shape and convertibility are checked here.
        """
        value = self.state_dict[key]
        if backend_of(value) is None:
            self.error(wrong_type(key, value))
            return None
        if tuple(value.shape) != tuple(like.shape):
            self.error(size_mismatch(key, tuple(value.shape), tuple(like.shape)))
            return None
        try:
            return copied(value, like=like)
        except (TypeError, ValueError) as error:
            self.error(f'While copying the parameter named "{key}": {error}')
            return None

    def run(self, owner: str, strict: bool) -> IncompatibleKeys:
        """Raise for every problem found (torch's format), else apply the planned updates."""
        wanted = set(self.expected)
        missing = [key for key in self.expected if key not in self.state_dict]
        unexpected = [key for key in self.state_dict if key not in wanted]
        errors = list(self.errors)
        if strict:
            if unexpected:
                listed = ", ".join(f'"{k}"' for k in unexpected)
                errors.insert(0, f"Unexpected key(s) in state_dict: {listed}. ")
            if missing:
                listed = ", ".join(f'"{k}"' for k in missing)
                errors.insert(0, f"Missing key(s) in state_dict: {listed}. ")
        if errors:
            joined = "\n\t".join(errors)
            msg = f"Error(s) in loading state_dict for {owner}:\n\t{joined}"
            raise StateDictError(msg)
        for step in self.steps:
            step()
        return IncompatibleKeys(missing, unexpected)
