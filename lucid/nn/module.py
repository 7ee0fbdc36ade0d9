"""``Module``: a small, torch-shaped holder of parameters that works with any Array API backend.

Parameters are plain arrays of the backend they live in (on PyTorch: leaf
``torch.nn.Parameter`` tensors with ``requires_grad=True``, so ``torch.optim`` trains
them).  Modules are registered as JAX pytrees as soon as JAX is in use: parameters
are the leaves and everything else (hyper-parameters, ``training``) is static, so
``jax.jit`` and ``jax.grad`` take a module as an argument.

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
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import array_api_compat

from .._backend import (
    BACKENDS,
    _parse_device,
    backend_of,
    check_backend,
    convert,
    device_label,
    dtype_name,
    fresh_copy,
    on_jax,
)
from .._typing import Array, DeviceLike, DTypeLike

__all__ = ["Module", "StateDictError", "check_input_placement", "describe_placement"]


class StateDictError(RuntimeError, ValueError):
    """A state dict that does not fit the module; nothing was loaded.

    A ``RuntimeError``, as torch raises, and a ``ValueError``, as lucid raises for every
    bad input, so either ``except`` clause catches it.
    """


class _IncompatibleKeys(NamedTuple):
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


def _is_floating(array: Array) -> bool:
    try:
        return bool(array_api_compat.array_namespace(array).isdtype(array.dtype, "real floating"))
    except (TypeError, AttributeError):
        return False


def _as_parameter(value: Array | None) -> Array | None:
    """A parameter made from ``value``: on torch a leaf ``nn.Parameter`` requiring grad."""
    if value is None or backend_of(value) != "torch":
        return value
    import torch

    if isinstance(value, torch.nn.Parameter):
        return value
    return torch.nn.Parameter(value.detach(), requires_grad=bool(value.is_floating_point()))


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
    :meth:`register_parameter` (later assignments to that name replace the parameter)
    and assign sub-modules as attributes; ``__call__`` runs :meth:`forward`.
    """

    training: bool
    _parameters: dict[str, Array | None]
    _modules: dict[str, Module | None]

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "training", True)
        if "jax" in sys.modules and not _jax_state["all"]:
            _register_all_with_jax()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if _jax_state["all"]:
            _register_with_jax(cls)

    # --- calling ----------------------------------------------------------------------

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation; subclasses override it."""
        msg = f'Module [{type(self).__name__}] is missing the required "forward" function'
        raise NotImplementedError(msg)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # --- attributes -------------------------------------------------------------------

    def register_parameter(self, name: str, value: Array | None) -> None:
        """Add parameter ``name`` (an array, or ``None`` for an absent one such as ``bias``)."""
        if "_parameters" not in self.__dict__:
            msg = "cannot assign a parameter before Module.__init__() call"
            raise AttributeError(msg)
        _checked_name(name, "parameter")
        if name in self.__dict__ or name in self._modules:
            msg = f"attribute {name!r} already exists and is not a parameter"
            raise KeyError(msg)
        if value is not None and backend_of(value) is None:
            msg = f"parameter {name!r} must be an array or None, got {type(value).__name__}"
            raise TypeError(msg)
        self._parameters[name] = _as_parameter(value)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add child ``module`` as attribute ``name``."""
        _checked_name(name, "module")
        if module is not None and not isinstance(module, Module):
            msg = f"{type(module).__name__} is not a Module subclass"
            raise TypeError(msg)
        if name in self.__dict__ or name in self._parameters:
            msg = f"attribute {name!r} already exists and is not a module"
            raise KeyError(msg)
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name: str, value: Any) -> None:
        params = self.__dict__.get("_parameters")
        if params is None:
            msg = "cannot assign attributes before Module.__init__() call"
            raise AttributeError(msg)
        modules = self.__dict__["_modules"]
        if isinstance(value, Module):
            self.__dict__.pop(name, None)
            params.pop(name, None)
            modules[name] = value
        elif name in params:
            if value is not None and backend_of(value) is None:
                msg = (
                    f"cannot assign {type(value).__name__} as parameter {name!r} "
                    "(an array or None expected)"
                )
                raise TypeError(msg)
            params[name] = _as_parameter(value)
        elif name in modules:
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
        # Only called when normal lookup fails; guard the containers for unpickling.
        if name not in ("_parameters", "_modules"):
            state = self.__dict__
            if name in state.get("_parameters", ()):
                return state["_parameters"][name]
            if name in state.get("_modules", ()):
                return state["_modules"][name]
        msg = f"{type(self).__name__!r} object has no attribute {name!r}"
        raise AttributeError(msg)

    def __delattr__(self, name: str) -> None:
        if name in self._parameters:
            del self._parameters[name]
        elif name in self._modules:
            del self._modules[name]
        else:
            object.__delattr__(self, name)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._modules))

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

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Array]]:
        """``(dotted name, array)`` for each parameter that is not ``None``."""
        seen: set[int] = set()
        owners = (
            self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
            if recurse
            else iter([(prefix, self)])
        )
        for owner_prefix, module in owners:
            for name, param in module._parameters.items():
                if param is None or (remove_duplicate and id(param) in seen):
                    continue
                seen.add(id(param))
                yield (f"{owner_prefix}.{name}" if owner_prefix else name), param

    def parameters(self, recurse: bool = True) -> Iterator[Array]:
        """Each parameter array (e.g. for ``torch.optim.SGD(model.parameters(), lr=0.1)``)."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    # --- modes ------------------------------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        """Set training mode on this module and every descendant; returns ``self``."""
        if not isinstance(mode, bool):
            msg = f"training mode is expected to be a bool, got {type(mode).__name__}"
            raise ValueError(msg)
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        """``train(False)``."""
        return self.train(False)

    # --- state dict -------------------------------------------------------------------

    def state_dict(self, *, prefix: str = "", keep_vars: bool = False) -> OrderedDict[str, Array]:
        """Every parameter by dotted name, as torch names them.

        On torch the tensors are detached unless ``keep_vars``; other backends return
        the parameter arrays themselves.
        """
        out: OrderedDict[str, Array] = OrderedDict()
        for name, param in self.named_parameters(prefix=prefix, remove_duplicate=False):
            if not keep_vars and backend_of(param) == "torch":
                param = param.detach()
            out[name] = param
        return out

    def _load_plan(
        self,
        state_dict: Mapping[str, Any],
        prefix: str,
        plan: list[Callable[[], None]],
        errors: list[str],
    ) -> list[str]:
        """Check this module's own entries of ``state_dict``; append the updates to ``plan``.

        Returns the keys this module expects.  Nothing may be changed here: every
        mutation goes into ``plan``, which runs only when no module reported an error.
        """
        expected = []
        for name, param in self._parameters.items():
            if param is None:
                continue
            key = prefix + name
            expected.append(key)
            if key not in state_dict:
                continue
            value = state_dict[key]
            if backend_of(value) is None:
                errors.append(
                    f'While copying the parameter named "{key}", expected an array from '
                    f"checkpoint but received {type(value).__name__}"
                )
                continue
            if tuple(value.shape) != tuple(param.shape):
                errors.append(
                    f"size mismatch for {key}: copying a param with shape "
                    f"{tuple(value.shape)} from checkpoint, the shape in current model is "
                    f"{tuple(param.shape)}."
                )
                continue
            try:
                new = convert_like(value, param)
            except (TypeError, ValueError) as error:
                errors.append(f'While copying the parameter named "{key}": {error}')
                continue
            plan.append(_Assign(self, name, new))
        return expected

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True
    ) -> _IncompatibleKeys:
        """Copy parameters from ``state_dict`` (any backend's arrays) into this module.

        Values are converted to each parameter's backend, device and dtype (on torch
        they are copied in place).  Unmaterialised lazy modules materialise from the
        shapes they find.  All checks run first: when anything is wrong, a
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
        plan: list[Callable[[], None]] = []
        errors: list[str] = []
        expected: list[str] = []
        for prefix, module in self.named_modules(remove_duplicate=False):
            expected += module._load_plan(state_dict, f"{prefix}." if prefix else "", plan, errors)
        wanted = set(expected)
        missing = [key for key in expected if key not in state_dict]
        unexpected = [key for key in state_dict if key not in wanted]
        if strict:
            if unexpected:
                listed = ", ".join(f'"{k}"' for k in unexpected)
                errors.insert(0, f"Unexpected key(s) in state_dict: {listed}. ")
            if missing:
                listed = ", ".join(f'"{k}"' for k in missing)
                errors.insert(0, f"Missing key(s) in state_dict: {listed}. ")
        if errors:
            joined = "\n\t".join(errors)
            msg = f"Error(s) in loading state_dict for {type(self).__name__}:\n\t{joined}"
            raise StateDictError(msg)
        for step in plan:
            step()
        return _IncompatibleKeys(missing, unexpected)

    # --- moving -----------------------------------------------------------------------

    def to(
        self, backend: str | None = None, device: DeviceLike = None, dtype: DTypeLike = None
    ) -> Module:
        """Move every parameter to ``backend``, ``device`` and (floating parameters) ``dtype``.

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
                _parse_device(backend)
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
            if backend == "jax":
                _register_all_with_jax()
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
        for name, param in self._parameters.items():
            if param is None:
                continue
            new = convert(param, backend, device, dtype if _is_floating(param) else None)
            if new is not param:
                steps.append(_Assign(self, name, new, in_place=False))

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
        new.__dict__["_parameters"] = dict(self._parameters)
        new.__dict__["_modules"] = dict(self._modules)
        return new

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if "jax" in sys.modules and not _jax_state["all"]:
            _register_all_with_jax()


class _Assign:
    """One planned parameter update (torch tensors are copied in place by default)."""

    def __init__(self, module: Module, name: str, value: Array, in_place: bool = True) -> None:
        self.module, self.name, self.value, self.in_place = module, name, value, in_place

    def __call__(self) -> None:
        params = self.module._parameters
        old = params.get(self.name)
        if self.in_place and old is not None and backend_of(old) == "torch":
            import torch

            with torch.no_grad():
                old.copy_(self.value)
            return
        params[self.name] = _as_parameter(self.value)


def convert_like(value: Array, like: Array) -> Array:
    """``value`` converted to the backend, device and dtype of ``like``."""
    target = backend_of(like)
    device = array_api_compat.device(like)
    new = convert(value, target, device, like.dtype)
    return fresh_copy(new) if new is value else new


# --- placement of inputs ---------------------------------------------------------------


def _is_tracer(x: Any) -> bool:
    jax = sys.modules.get("jax")
    return jax is not None and isinstance(x, jax.core.Tracer)


def describe_placement(x: Array) -> str:
    """E.g. ``'torch (float32, cpu)'``: where an array lives."""
    name = backend_of(x) or f"{type(x).__module__}.{type(x).__name__}"
    dtype = dtype_label(x.dtype)
    if _is_tracer(x):
        return f"{name} ({dtype})"
    return f"{name} ({dtype}, {device_label(array_api_compat.device(x))})"


def dtype_label(dtype: Any) -> str:
    try:
        return dtype_name(dtype)
    except ValueError:
        return str(dtype)


def check_input_placement(module: Module, x: Any, param: Array) -> None:
    """``TypeError`` unless ``x`` shares ``param``'s namespace, device and dtype.

    The message says where the parameters live and which ``.to(...)`` call moves them.
    """
    source = backend_of(x)
    if source is None:
        msg = (
            f"{type(module).__name__} expects an array of an Array API library, got "
            f"{type(x).__module__}.{type(x).__name__}"
        )
        raise TypeError(msg)
    target = backend_of(param)
    fixes = []
    if source != target:
        fixes.append(repr(source))
    if source != target:
        same_dtype = dtype_label(x.dtype) == dtype_label(param.dtype)
    else:
        same_dtype = x.dtype == param.dtype
    if not same_dtype:
        fixes.append(f"dtype={dtype_label(x.dtype)!r}")
    if source == target and not (_is_tracer(x) or _is_tracer(param)):
        x_device = array_api_compat.device(x)
        if x_device != array_api_compat.device(param):
            fixes.append(f"device={device_label(x_device)!r}")
    if fixes:
        msg = (
            f"{type(module).__name__}'s parameters live in {describe_placement(param)} but the "
            f"input is {describe_placement(x)}; move the module with "
            f".to({', '.join(fixes)}) or convert the input (lucid.asarray(x, ...))"
        )
        raise TypeError(msg)


# --- JAX pytrees ------------------------------------------------------------------------

_jax_state: dict[str, Any] = {"all": False, "registered": set()}
_NOT_STATIC = ("_parameters", "_modules", "_lazy_origin")


class _Static:
    """Aux data of a flattened module: compared by value, hashable, immutable."""

    __slots__ = ("items", "module_names", "origin", "param_names")

    def __init__(
        self,
        param_names: tuple[str, ...],
        module_names: tuple[str, ...],
        items: tuple[tuple[str, Any], ...],
        origin: weakref.ref[Module] | None,
    ) -> None:
        self.param_names = param_names
        self.module_names = module_names
        self.items = items
        self.origin = origin

    def _key(self) -> tuple[Any, ...]:
        return (self.param_names, self.module_names, self.items)

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
            return self.items is other.items

    def __hash__(self) -> int:
        parts = []
        for key, value in self.items:
            try:
                parts.append(hash((key, value)))
            except TypeError:
                parts.append(hash(key))
        return hash(
            (self.param_names, self.module_names, tuple(parts), id(self.origin and self.origin()))
        )


def _flatten_with_keys(module: Module) -> tuple[list[tuple[Any, Any]], _Static]:
    from jax.tree_util import GetAttrKey

    state = module.__dict__
    params, modules = state["_parameters"], state["_modules"]
    children = [(GetAttrKey(k), v) for k, v in params.items()]
    children += [(GetAttrKey(k), v) for k, v in modules.items()]
    items = tuple(sorted((k, v) for k, v in state.items() if k not in _NOT_STATIC))
    token = module._pytree_token() if hasattr(module, "_pytree_token") else None
    origin = weakref.ref(token) if token is not None else None
    return children, _Static(tuple(params), tuple(modules), items, origin)


def _flatten(module: Module) -> tuple[list[Any], _Static]:
    children, aux = _flatten_with_keys(module)
    return [child for _, child in children], aux


def _unflattener(cls: type[Module]) -> Callable[[_Static, Any], Module]:
    def unflatten(aux: _Static, children: Any) -> Module:
        module = object.__new__(cls)
        state = module.__dict__
        state.update(aux.items)
        children = list(children)
        count = len(aux.param_names)
        state["_parameters"] = dict(zip(aux.param_names, children[:count]))
        state["_modules"] = dict(zip(aux.module_names, children[count:]))
        if aux.origin is not None:
            state["_lazy_origin"] = aux.origin
        return module

    return unflatten


def _register_with_jax(cls: type[Module]) -> None:
    registered = _jax_state["registered"]
    if cls in registered:
        return
    import jax

    jax.tree_util.register_pytree_with_keys(
        cls, _flatten_with_keys, _unflattener(cls), flatten_func=_flatten
    )
    registered.add(cls)


def _register_all_with_jax() -> None:
    """Register ``Module`` and every subclass defined so far as JAX pytrees (idempotent)."""
    _jax_state["all"] = True
    stack: list[type[Module]] = [Module]
    while stack:
        cls = stack.pop()
        _register_with_jax(cls)
        stack.extend(cls.__subclasses__())


on_jax(_register_all_with_jax)
