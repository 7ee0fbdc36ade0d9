"""Validated call plans, remembered per call signature.

Validating a convolution's arguments and choosing its formulation cost tens of
microseconds of Python, as much as the whole computation on a small layer.  The
outcome depends only on the arrays' types, shapes and dtypes and on the
hyper-parameters, so a layer called again with the same signature reuses its plan.

Only signatures that are exactly equal to a validated one hit the cache: a
hyper-parameter that is not a plain ``int`` (or a tuple or list of them) gives no key,
so ``stride=True`` or ``stride=2.0`` always takes the full validation and its error.
A call that fails validation stores nothing.

A plan also holds the call itself (:func:`planned_call`): on libraries that run a
compiled program faster than operation by operation, it is compiled once per plan.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["cached_plan", "planned_call", "signature"]

Plan = TypeVar("Plan")

# Enough for every layer of a large model; cleared wholesale when full, which only
# costs one re-validation per signature.
_MAX_PLANS = 1024
_PLANS: dict[tuple[Any, ...], Any] = {}


class _UnkeyableError(Exception):
    """A hyper-parameter whose exact value a cache key cannot represent safely."""


def _freeze(value: object) -> object:
    if value is None or type(value) is int or type(value) is str:
        return value
    if type(value) in (tuple, list):
        # `type(...) is int` rejects bool, NumPy integers and floats: they must meet
        # the full validation every time.
        items: tuple[object, ...] = tuple(value)  # type: ignore[arg-type]
        if all(type(v) is int for v in items):
            return (type(value), items)
    raise _UnkeyableError


def signature(arrays: tuple[Any, ...], hyper: tuple[object, ...]) -> tuple[Any, ...] | None:
    """A hashable key for one call, or ``None`` when it cannot be keyed exactly.

    ``hyper`` starts with the op's name: every op shares the one cache.
    """
    try:
        frozen = tuple(_freeze(v) for v in hyper)
    except _UnkeyableError:
        return None
    try:
        described = tuple(None if a is None else (type(a), tuple(a.shape), a.dtype) for a in arrays)
    except (AttributeError, TypeError):  # not an array: the validation names it
        return None
    return (*described, *frozen)


def cached_plan(key: tuple[Any, ...] | None, build: Callable[[], Plan]) -> Plan:
    """The plan stored under ``key``, or ``build()``'s (stored only if it returns)."""
    if key is None:
        return build()
    try:
        return _PLANS[key]
    except KeyError:
        pass
    except TypeError:  # an unhashable dtype or shape: validate every time
        return build()
    plan = build()
    if len(_PLANS) >= _MAX_PLANS:
        _PLANS.clear()
    _PLANS[key] = plan
    return plan


def planned_call(
    body: Callable[..., Any], backend: Any, compiles_eager_calls: bool
) -> Callable[..., Any]:
    """``body`` as every call of one plan runs it: compiled by ``backend`` (once, on
    first use) when the library's traits say eager calls are faster compiled."""
    if compiles_eager_calls and backend is not None:
        compiled: Callable[..., Any] = backend.compiled(body)
        return compiled
    return body
