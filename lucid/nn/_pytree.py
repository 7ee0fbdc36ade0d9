"""Modules as JAX pytrees, from declared fields: leaves, static configuration and the mode.

A module flattens into

* **leaves**: its parameters, then its buffers, then its child modules (sub-trees), each
  group in registration order (``None`` entries are empty sub-trees, as in torch's
  ``_parameters``);
* **static data**: the names in each group, which buffers are persistent, the module's
  *configuration* (its plain attributes: ``kernel_size``, ``negative_slope``, ...) and its
  *mode* (``training``).

The static data is compared by value, so ``jax.jit`` recompiles when a configuration
changes.  The mode is compared only for modules whose own code reads ``training``
(found once per class by looking for the name in its methods, or declared with the
class attribute ``_mode_in_treedef``): there it must decide the compiled code, so
``jax.jit`` compiles once per mode.  Every other module -- convolutions, activations,
containers, models that only call their layers -- keeps one treedef in both modes, so
an optax state made in ``train()`` mode still fits after ``eval()``.  Such a module
carries its mode through the static data without comparing it: a module returned by a
jitted function reports the mode of the call that compiled it.

An unmaterialised lazy module is its own identity (see :mod:`lucid.nn.lazy`): its
parameters are made while tracing, so equal configurations must not share a compiled
function.

Nothing here imports JAX: registration runs when JAX is first used.
"""

from __future__ import annotations

import types
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from .._backends import on_jax

if TYPE_CHECKING:
    from .module import Module

__all__ = ["LEAF_GROUPS", "ensure_registered", "register_subclass"]

#: The ``__dict__`` entries whose values are leaves (or sub-trees), in flattening order.
LEAF_GROUPS = ("_parameters", "_buffers", "_modules")
#: Bookkeeping entries that are neither leaves nor configuration.
_BOOKKEEPING = ("_non_persistent_buffers", "training", "_lazy_origin")

_state: dict[str, Any] = {"all": False, "registered": set(), "module": None}


def _code_objects(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _code_objects(const)


def _reads_training(cls: type) -> bool:
    """Whether a method defined on ``cls`` (not on ``Module`` itself) reads ``.training``."""
    for value in vars(cls).values():
        function = getattr(value, "__func__", value)
        function = getattr(function, "fget", function)  # properties
        code = getattr(function, "__code__", None)
        if code is not None and any("training" in c.co_names for c in _code_objects(code)):
            return True
    return False


def mode_in_treedef(cls: type[Module]) -> bool:
    """Whether ``cls``'s mode is part of its treedef (see the module docstring).

    The nearest ``_mode_in_treedef`` declared on ``cls`` or a base decides; without one,
    whether a method of ``cls`` or a base (``Module`` itself aside) reads ``training``.
    """
    found = _mode_classes.get(cls)
    if found is None:
        found = False
        for klass in cls.__mro__:
            declared = vars(klass).get("_mode_in_treedef")
            if declared is not None:
                found = bool(declared)
                break
            if klass not in (_state["module"], object) and _reads_training(klass):
                found = True
                break
        _mode_classes[cls] = found
    return found


_mode_classes: weakref.WeakKeyDictionary[type, bool] = weakref.WeakKeyDictionary()


class _Static:
    """The static data of a flattened module: compared by value, hashable, immutable."""

    __slots__ = ("compare_mode", "config", "mode", "names", "non_persistent", "origin")

    def __init__(
        self,
        names: tuple[tuple[str, ...], ...],
        non_persistent: frozenset[str],
        config: tuple[tuple[str, Any], ...],
        mode: bool,
        compare_mode: bool,
        origin: weakref.ref[Module] | None,
    ) -> None:
        self.names = names
        self.non_persistent = non_persistent
        self.config = config
        self.mode = mode
        self.compare_mode = compare_mode
        self.origin = origin

    def _key(self) -> tuple[Any, ...]:
        mode = self.mode if self.compare_mode else None
        return (self.names, self.non_persistent, self.config, mode)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _Static):
            return NotImplemented
        if self.origin is not None or other.origin is not None:
            # An unmaterialised lazy module is its own identity: equal configurations
            # must not share a jit cache entry (its weights are made while tracing).
            mine = self.origin() if self.origin is not None else None
            theirs = other.origin() if other.origin is not None else None
            if mine is None or mine is not theirs:
                return self.origin is other.origin
        try:
            return bool(self._key() == other._key())
        except Exception:
            return self.config is other.config

    def __hash__(self) -> int:
        parts = []
        for key, value in self.config:
            try:
                parts.append(hash((key, value)))
            except TypeError:
                parts.append(hash(key))
        mode = self.mode if self.compare_mode else None
        origin = id(self.origin and self.origin())
        return hash((self.names, self.non_persistent, tuple(parts), mode, origin))


def _flatten_with_keys(module: Module) -> tuple[list[tuple[Any, Any]], _Static]:
    from jax.tree_util import GetAttrKey

    state = module.__dict__
    groups = [state[group] for group in LEAF_GROUPS]
    children = [(GetAttrKey(k), v) for group in groups for k, v in group.items()]
    skip = (*LEAF_GROUPS, *_BOOKKEEPING)
    config = tuple(sorted((k, v) for k, v in state.items() if k not in skip))
    token = module._pytree_token() if hasattr(module, "_pytree_token") else None
    origin = weakref.ref(token) if token is not None else None
    static = _Static(
        tuple(tuple(group) for group in groups),
        frozenset(state["_non_persistent_buffers"]),
        config,
        bool(state["training"]),
        mode_in_treedef(type(module)),
        origin,
    )
    return children, static


def _flatten(module: Module) -> tuple[list[Any], _Static]:
    children, static = _flatten_with_keys(module)
    return [child for _, child in children], static


def _unflattener(cls: type[Module]) -> Callable[[_Static, Any], Module]:
    def unflatten(static: _Static, children: Any) -> Module:
        module = object.__new__(cls)
        state = module.__dict__
        state.update(static.config)
        values = iter(children)
        for group, names in zip(LEAF_GROUPS, static.names):
            state[group] = {name: next(values) for name in names}
        state["_non_persistent_buffers"] = set(static.non_persistent)
        state["training"] = static.mode
        if static.origin is not None:
            state["_lazy_origin"] = static.origin
        return module

    return unflatten


def _register(cls: type[Module]) -> None:
    registered = _state["registered"]
    if cls in registered:
        return
    import jax

    jax.tree_util.register_pytree_with_keys(
        cls, _flatten_with_keys, _unflattener(cls), flatten_func=_flatten
    )
    registered.add(cls)


def ensure_registered() -> None:
    """Register ``Module`` and every subclass defined so far as JAX pytrees (idempotent)."""
    if _state["all"]:
        return
    _state["all"] = True
    stack: list[type[Module]] = [_state["module"]]
    while stack:
        cls = stack.pop()
        _register(cls)
        stack.extend(cls.__subclasses__())


def register_subclass(cls: type[Module]) -> None:
    """Called for each new ``Module`` subclass: registered now if JAX is already in use."""
    if _state["all"]:
        _register(cls)


def install(module_class: type[Module]) -> None:
    """Name the ``Module`` base and register everything as soon as JAX is in use."""
    _state["module"] = module_class
    on_jax(ensure_registered)
