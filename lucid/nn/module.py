"""``Module``: a small, torch-shaped holder of parameters that works with any Array API backend.

Parameters and buffers are plain arrays of the backend they live in (on PyTorch,
parameters are leaf ``torch.nn.Parameter`` tensors with ``requires_grad=True``, so
``torch.optim`` trains them).  Modules are JAX pytrees as soon as JAX is in use:
parameters and buffers are the leaves, hyper-parameters static (see
:mod:`lucid.nn._pytree`), so ``jax.jit`` and ``jax.grad`` take a module as an argument.
State dicts are planned and applied all or nothing (:mod:`lucid.nn._state`).

Examples
--------
>>> import lucid
>>> import lucid.nn as nn
>>> class Scale(nn.Module):
...     def __init__(self):
...         super().__init__()
...         self.register_parameter("alpha", lucid.ones(3))
...     def forward(self, x):
...         return x * self.alpha
>>> m = Scale()
>>> [name for name, _ in m.named_parameters()]
['alpha']
>>> m(lucid.full(3, 2.0)).tolist()
[2.0, 2.0, 2.0]
>>> m
Scale()
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar

import array_api_compat

from .._backends import BACKENDS, backend_of, check_backend, convert, dtype_name, of, parse_device
from .._typing import Array, DeviceLike, DTypeLike
from . import _pytree
from ._placement import check_input_placement, describe_placement
from ._state import IncompatibleKeys, LoadPlan, StateDictError

__all__ = ["Module", "StateDictError", "check_input_placement", "describe_placement"]

#: The two kinds of arrays a module holds, as ``(__dict__ entry, word used in messages)``.
_ARRAY_GROUPS = (("_parameters", "parameter"), ("_buffers", "buffer"))


def _is_floating(array: Array) -> bool:
    try:
        return bool(array_api_compat.array_namespace(array).isdtype(array.dtype, "real floating"))
    except (TypeError, AttributeError):
        return False


def _as_parameter(value: Array | None) -> Array | None:
    """A parameter made from ``value``: on torch a leaf ``nn.Parameter`` requiring grad."""
    backend = None if value is None else of(value)
    return value if backend is None else backend.as_parameter(value)


def _add_indent(text: str, spaces: int) -> str:
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    pad = " " * spaces
    return "\n".join([lines[0]] + [pad + line for line in lines[1:]])


def _checked_name(name: object, kind: str) -> str:
    if not isinstance(name, str):
        msg = f"{kind} name must be a str, got {type(name).__name__} {name!r}"
        raise TypeError(msg)
    if not name or "." in name:
        msg = f'{kind} name must be a non-empty str without ".", got {name!r}'
        raise KeyError(msg)
    return name


class Module:
    """Base class of every lucid layer.

    Subclasses call ``super().__init__()``, register arrays with
    :meth:`register_parameter` (trainable) or :meth:`register_buffer` (state such as
    running statistics), assign sub-modules as attributes, and implement
    :meth:`forward`; ``__call__`` runs it.  Later assignments to a registered name
    replace that parameter, buffer or child.
    """

    training: bool
    _parameters: dict[str, Array | None]
    _buffers: dict[str, Array | None]
    _non_persistent_buffers: set[str]
    _modules: dict[str, Module | None]
    #: Whether ``training`` is part of this class's JAX treedef (``None``: found from
    #: the code, see :mod:`lucid.nn._pytree`).
    _mode_in_treedef: ClassVar[bool | None] = None

    def __init__(self) -> None:
        state = self.__dict__
        state["_parameters"] = {}
        state["_buffers"] = {}
        state["_non_persistent_buffers"] = set()
        state["_modules"] = {}
        state["training"] = True
        if "jax" in sys.modules:
            _pytree.ensure_registered()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _pytree.register_subclass(cls)

    # --- calling ----------------------------------------------------------------------

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation; subclasses override it."""
        msg = f'Module [{type(self).__name__}] is missing the required "forward" function'
        raise NotImplementedError(msg)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # --- attributes -------------------------------------------------------------------

    def _check_new_array(self, group: str, kind: str, name: object, value: object) -> str:
        """Validate registering ``value`` as ``kind`` ``name``; the checked name."""
        if group not in self.__dict__:
            msg = f"cannot assign a {kind} before Module.__init__() call"
            raise AttributeError(msg)
        _checked_name(name, kind)
        assert isinstance(name, str)
        taken = (
            name in self.__dict__
            or any(name in self.__dict__[other] for other, _ in _ARRAY_GROUPS if other != group)
            or name in self._modules
        )
        if taken:
            msg = f"attribute {name!r} already exists and is not a {kind}"
            raise KeyError(msg)
        if value is not None and backend_of(value) is None:
            msg = f"{kind} {name!r} must be an array or None, got {type(value).__name__}"
            raise TypeError(msg)
        return name

    def register_parameter(self, name: str, value: Array | None) -> None:
        """Add parameter ``name`` (an array, or ``None`` for an absent one such as ``bias``)."""
        self._check_new_array("_parameters", "parameter", name, value)
        self._parameters[name] = _as_parameter(value)

    def register_buffer(self, name: str, tensor: Array | None, persistent: bool = True) -> None:
        """Add buffer ``name``: module state that is not trained (e.g. running statistics).

        Buffers move with :meth:`to` and are leaves of the module's JAX pytree; persistent
        ones (the default) are in :meth:`state_dict`.  ``None`` registers an absent buffer.

        Examples
        --------
        >>> import lucid
        >>> import lucid.nn as nn
        >>> m = nn.Module()
        >>> m.register_buffer("running_mean", lucid.zeros(3))
        >>> m.register_buffer("scratch", lucid.zeros(2), persistent=False)
        >>> [name for name, _ in m.named_buffers()], list(m.state_dict())
        (['running_mean', 'scratch'], ['running_mean'])
        """
        if not isinstance(persistent, bool):
            msg = f"persistent must be a bool, got {type(persistent).__name__} {persistent!r}"
            raise TypeError(msg)
        self._check_new_array("_buffers", "buffer", name, tensor)
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add child ``module`` as attribute ``name``."""
        _checked_name(name, "module")
        if module is not None and not isinstance(module, Module):
            msg = f"{type(module).__name__} is not a Module subclass"
            raise TypeError(msg)
        if name in self.__dict__ or name in self._parameters or name in self._buffers:
            msg = f"attribute {name!r} already exists and is not a module"
            raise KeyError(msg)
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name: str, value: Any) -> None:
        state = self.__dict__
        if "_parameters" not in state:
            msg = "cannot assign attributes before Module.__init__() call"
            raise AttributeError(msg)
        modules = state["_modules"]
        if isinstance(value, Module):
            state.pop(name, None)
            for group, _ in _ARRAY_GROUPS:
                state[group].pop(name, None)
            state["_non_persistent_buffers"].discard(name)
            modules[name] = value
            return
        for group, kind in _ARRAY_GROUPS:
            if name in state[group]:
                if value is not None and backend_of(value) is None:
                    msg = (
                        f"cannot assign {type(value).__name__} as {kind} {name!r} "
                        "(an array or None expected)"
                    )
                    raise TypeError(msg)
                state[group][name] = _as_parameter(value) if kind == "parameter" else value
                return
        if name in modules:
            if value is not None:
                msg = (
                    f"cannot assign {type(value).__name__} as child module {name!r} "
                    "(Module or None expected)"
                )
                raise TypeError(msg)
            modules[name] = None
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails; the guard keeps unpickling from recursing.
        if name not in _pytree.LEAF_GROUPS:
            state = self.__dict__
            for group in _pytree.LEAF_GROUPS:
                members = state.get(group, ())
                if name in members:
                    return members[name]
        msg = f"{type(self).__name__!r} object has no attribute {name!r}"
        raise AttributeError(msg)

    def __delattr__(self, name: str) -> None:
        state = self.__dict__
        for group in _pytree.LEAF_GROUPS:
            if name in state[group]:
                del state[group][name]
                state["_non_persistent_buffers"].discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self) -> list[str]:
        members = {name for group in _pytree.LEAF_GROUPS for name in self.__dict__[group]}
        return sorted(set(super().__dir__()) | members)

    # --- traversal --------------------------------------------------------------------

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """``(name, module)`` for each direct child."""
        seen: set[int] = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in seen:
                seen.add(id(module))
                yield name, module

    def children(self) -> Iterator[Module]:
        """Each direct child module."""
        for _, module in self.named_children():
            yield module

    def named_modules(
        self, memo: set[int] | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """``(dotted name, module)`` for this module and every descendant, depth first."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            child = f"{prefix}.{name}" if prefix else name
            yield from module.named_modules(memo, child, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        """This module and every descendant."""
        for _, module in self.named_modules():
            yield module

    def _named_members(
        self, group: str, prefix: str, recurse: bool, remove_duplicate: bool
    ) -> Iterator[tuple[str, Array]]:
        """``(dotted name, array)`` for each non-``None`` entry of ``group``, torch's order."""
        seen: set[int] = set()
        owners = (
            self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
            if recurse
            else iter([(prefix, self)])
        )
        for owner_prefix, module in owners:
            for name, value in module.__dict__[group].items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{owner_prefix}.{name}" if owner_prefix else name), value

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Array]]:
        """``(dotted name, array)`` for each parameter that is not ``None``."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Array]:
        """Each parameter array (e.g. for ``torch.optim.SGD(model.parameters(), lr=0.1)``)."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Array]]:
        """``(dotted name, array)`` for each buffer that is not ``None`` (persistent or not)."""
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Array]:
        """Each buffer array."""
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def _state_entries(self) -> Iterator[tuple[str, str, Array]]:
        """``(group, name, array)`` of this module's own state-dict entries, torch's order."""
        for name, param in self._parameters.items():
            if param is not None:
                yield "_parameters", name, param
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent_buffers:
                yield "_buffers", name, buffer

    # --- modes ------------------------------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        """Set training mode on this module and every descendant; returns ``self``.

        On JAX the mode changes no treedef except of modules whose code reads
        ``training`` (see :mod:`lucid.nn._pytree`), so optimizer states stay valid.
        """
        if not isinstance(mode, bool):
            msg = f"training mode is expected to be a bool, got {type(mode).__name__}"
            raise ValueError(msg)
        for module in self.modules():
            module.__dict__["training"] = mode
        return self

    def eval(self) -> Module:
        """``train(False)``."""
        return self.train(False)

    # --- state dict -------------------------------------------------------------------

    def state_dict(self, *, prefix: str = "", keep_vars: bool = False) -> OrderedDict[str, Array]:
        """Every parameter and persistent buffer by dotted name, as torch names them.

        ``prefix`` is put before every key as it is (torch's ``prefix='model.'``).

        On torch the tensors are detached unless ``keep_vars``; other backends return
        the arrays themselves.
        """
        out: OrderedDict[str, Array] = OrderedDict()
        for owner, module in self.named_modules(remove_duplicate=False):
            for _, name, value in module._state_entries():
                if not keep_vars:
                    value = of(value).detach(value)  # type: ignore[union-attr]
                out[f"{prefix}{owner}.{name}" if owner else prefix + name] = value
        return out

    def _load_plan(self, plan: LoadPlan, prefix: str) -> None:
        """Check this module's own entries of the state dict; add its updates to ``plan``.

        Nothing may be changed here: every mutation goes into ``plan``, which runs only
        when no module reported an error.
        """
        for group, name, current in self._state_entries():
            key = prefix + name
            plan.expected.append(key)
            if key not in plan.state_dict:
                continue
            new = plan.checked_value(key, current)
            if new is not None:
                plan.step(_Assign(self, group, name, new))

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True
    ) -> IncompatibleKeys:
        """Copy parameters and persistent buffers from ``state_dict`` (any backend's arrays).

        Values are converted to each entry's backend, device and dtype (on torch they
        are copied in place).  Unmaterialised lazy modules materialise from the shapes
        they find.  All checks run first: when anything is wrong, a
        :class:`StateDictError` (a ``RuntimeError`` and a ``ValueError``) lists every
        problem and the module is left unchanged.

        Parameters
        ----------
        state_dict : mapping of str to array
        strict : bool
            Missing and unexpected keys are errors (default), else only reported.

        Returns
        -------
        NamedTuple
            ``missing_keys`` and ``unexpected_keys``, as torch reports them.
        """
        if not isinstance(state_dict, Mapping):
            msg = f"Expected state_dict to be dict-like, got {type(state_dict).__name__}."
            raise TypeError(msg)
        plan = LoadPlan(state_dict)
        for prefix, module in self.named_modules(remove_duplicate=False):
            module._load_plan(plan, f"{prefix}." if prefix else "")
        return plan.run(type(self).__name__, strict)

    # --- moving -----------------------------------------------------------------------

    def to(
        self, backend: str | None = None, device: DeviceLike = None, dtype: DTypeLike = None
    ) -> Module:
        """Move every parameter and buffer to ``backend``, ``device`` and (floating ones) ``dtype``.

        ``m.to('jax')`` moves a model to JAX; ``m.to(dtype='float64')`` keeps the backend.
        An unmaterialised lazy module remembers the placement for its materialisation.
        Everything is converted before anything is assigned, so a failure changes nothing.

        Returns
        -------
        Module
            ``self``.
        """
        if backend is not None and backend not in BACKENDS:
            hint = ""
            try:
                parse_device(backend)
                hint = f"; to move to a device, use .to(device={backend!r})"
            except ValueError:
                try:
                    dtype_name(backend)
                    hint = f"; to change the dtype, use .to(dtype={backend!r})"
                except ValueError:
                    pass
            msg = f"backend must be one of {BACKENDS} or None, got {backend!r}{hint}"
            raise ValueError(msg)
        if backend is not None:
            check_backend(backend)
        if dtype is not None:
            name = dtype_name(dtype)
            if not name.startswith(("float", "bfloat", "complex")):
                msg = (
                    f"Module.to only accepts floating point or complex dtypes, got dtype={dtype!r}"
                )
                raise TypeError(msg)
        steps: list[Callable[[], None]] = []
        for module in self.modules():
            module._to_plan(backend, device, dtype, steps)
        for step in steps:
            step()
        return self

    def _to_plan(
        self,
        backend: str | None,
        device: DeviceLike,
        dtype: DTypeLike,
        steps: list[Callable[[], None]],
    ) -> None:
        for group, _ in _ARRAY_GROUPS:
            for name, value in self.__dict__[group].items():
                if value is None:
                    continue
                new = convert(value, backend, device, dtype if _is_floating(value) else None)
                if new is not value:
                    steps.append(_Assign(self, group, name, new, in_place=False))

    # --- repr -------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """This module's configuration for ``repr``; subclasses override it."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [
            f"({name}): {_add_indent(repr(module), 2)}" for name, module in self._modules.items()
        ]
        lines = extra_lines + child_lines
        body = ""
        if len(extra_lines) == 1 and not child_lines:
            body = extra_lines[0]
        elif lines:
            body = "\n  " + "\n  ".join(lines) + "\n"
        return f"{self._get_name()}({body})"

    # --- copying ----------------------------------------------------------------------

    def __copy__(self) -> Module:
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        for group in (*_pytree.LEAF_GROUPS, "_non_persistent_buffers"):
            new.__dict__[group] = type(self.__dict__[group])(self.__dict__[group])
        return new

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if "jax" in sys.modules:
            _pytree.ensure_registered()


class _Assign:
    """One planned update of a parameter or buffer (torch tensors are copied in place)."""

    def __init__(
        self, module: Module, group: str, name: str, value: Array, in_place: bool = True
    ) -> None:
        self.module, self.group, self.name = module, group, name
        self.value, self.in_place = value, in_place

    def __call__(self) -> None:
        members = self.module.__dict__[self.group]
        old = members.get(self.name)
        owner = None if old is None else of(old)
        if self.in_place and owner is not None and owner.copy_into(old, self.value):
            return
        is_param = self.group == "_parameters"
        members[self.name] = _as_parameter(self.value) if is_param else self.value


_pytree.install(Module)
