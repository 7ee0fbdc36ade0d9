"""Validated call plans, remembered per call signature.

Validating a convolution's arguments and choosing its formulation cost tens of
microseconds of Python, as much as the whole computation on a small layer.  The
outcome depends only on the arrays' types, shapes and dtypes and on the
hyper-parameters, so a layer called again with the same signature reuses its plan.

Only signatures that are exactly equal to a validated one hit the cache: a
hyper-parameter that is not a plain ``int`` (or a tuple or list of them) gives no key,
so ``stride=True`` or ``stride=2.0`` always takes the full validation and its error.
A call that fails validation stores nothing.

A call that ``torch.compile`` traces reads the cache but stores nothing: a graph guards
on the cache's keys, and a plan its own first call stored made its second call compile
again (BENCHMARKS.md, "torch.compile: the plan cache and ``sys.modules``").  Reading it
stays: an eager call's plan spares a graph with symbolic sizes the tracing of its
planning on symbols (22 s against 2 s to compile a k4 s2 layer with ``dynamic=True``).
A graph that missed a cache holding other plans still compiles once more for each plan
an eager call stores later, as every such graph did before.

A plan also holds the call itself (:func:`planned_call`): on libraries that run a
compiled program faster than operation by operation, it is compiled once per plan.
Ops without a plan get the same from :func:`compiled_when_eager`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from .._backends import of
from .._tracing import compiling
from ._traits import traits

__all__ = ["cached_plan", "compiled_when_eager", "not_yet_planned", "planned_call", "signature"]

Plan = TypeVar("Plan")
Op = TypeVar("Op", bound=Callable[..., Any])

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
    """The plan stored under ``key``, or ``build()``'s (stored only if it returns, and
    not while a compiler traces the call: plans hold their namespace as ``xp``)."""
    if key is None:
        return build()
    try:
        return _PLANS[key]
    except KeyError:
        pass
    except TypeError:  # an unhashable dtype or shape: validate every time
        return build()
    plan = build()
    if compiling(plan.xp):  # type: ignore[attr-defined]
        return plan
    if len(_PLANS) >= _MAX_PLANS:
        _PLANS.clear()
    _PLANS[key] = plan
    return plan


def not_yet_planned(*_: Any) -> Any:
    """A plan's ``call`` until :func:`planned_call` has built it: running it is a bug."""
    msg = "internal error: a lucid plan was called before its call was built"
    raise RuntimeError(msg)


def planned_call(
    body: Callable[..., Any], backend: Any, compiles_eager_calls: bool
) -> Callable[..., Any]:
    """``body`` as every call of one plan runs it: compiled by ``backend`` (once, on
    first use) when the library's traits say eager calls are faster compiled."""
    if compiles_eager_calls and backend is not None:
        compiled: Callable[..., Any] = backend.compiled(body)
        return compiled
    return body


def _exact_key(value: object) -> object:
    """``value`` with its type (and its items'), so ``1``, ``1.0`` and ``True`` differ."""
    if type(value) in (tuple, list):
        return (type(value), tuple(_exact_key(v) for v in value))  # type: ignore[attr-defined]
    hash(value)  # unhashable: no program for this call
    return (type(value), value)


def compiled_when_eager(op: Op) -> Op:
    """``op`` run as one compiled program per call signature where the arrays' library
    runs eager calls faster compiled (the ``compiles_eager_calls`` trait); elsewhere,
    and for arguments it cannot key exactly, ``op`` itself.

    The arrays are the program's arguments; every other argument is part of the key
    (with its type), so the program is traced, and the arguments validated, once per
    distinct call.  A call that raises stores nothing.
    """
    programs: dict[object, Callable[..., Any]] = {}

    @functools.wraps(op)
    def call(*args: Any, **kwargs: Any) -> Any:
        values = (*args, *kwargs.values())
        backend = next((b for b in map(of, values) if b is not None), None)
        if backend is None or not traits(backend.name).compiles_eager_calls:
            return op(*args, **kwargs)
        arrays = tuple(i for i, v in enumerate(values) if backend.is_array(v))
        # The other arguments, with the arrays' places empty (no program keeps an array).
        template = tuple(None if i in arrays else v for i, v in enumerate(values))
        try:
            key = (len(args), tuple(kwargs), arrays, _exact_key(template))
            program = programs.get(key)
        except TypeError:
            return op(*args, **kwargs)
        if program is None:
            body = functools.partial(_filled, op, template, len(args), tuple(kwargs), arrays)
            program = backend.compiled(body)
        result = program(*(values[i] for i in arrays))
        if key not in programs:
            if len(programs) >= _MAX_PLANS:
                programs.clear()
            programs[key] = program
        return result

    return call  # type: ignore[return-value]


def _filled(
    op: Callable[..., Any],
    template: tuple[Any, ...],
    n_args: int,
    names: tuple[str, ...],
    positions: tuple[int, ...],
    *arrays: Any,
) -> Any:
    """``op`` called with ``template``'s arguments, ``arrays`` in their ``positions``."""
    values = list(template)
    for i, array in zip(positions, arrays):
        values[i] = array
    return op(*values[:n_args], **dict(zip(names, values[n_args:])))
