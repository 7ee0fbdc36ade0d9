"""Checks on the arrays an op is handed: one namespace, one floating dtype."""

from __future__ import annotations

import math
import os
from typing import Any

import array_api_compat

from .. import _backends

__all__ = [
    "check_output_size",
    "common_namespace",
    "conv_arrays",
    "describe",
    "floating_dtype_names",
    "is_batched",
    "on_namespace",
    "require_arrays",
    "require_float_dtype",
]


def describe(array: Any) -> str:
    """A short human name for an array's kind, e.g. ``'numpy.ndarray'``."""
    cls = type(array)
    module = cls.__module__.split(".")[0]
    return f"{module}.{cls.__name__}"


def require_arrays(**arrays: Any) -> None:
    """``TypeError`` naming the first of ``arrays`` that is ``None`` or not an array."""
    for name, array in arrays.items():
        if not array_api_compat.is_array_api_obj(array):
            msg = f"{name} must be an array of an Array API library, got {describe(array)}"
            raise TypeError(msg)


def common_namespace(**arrays: Any) -> Any:
    """The one Array API namespace shared by every non-None array in ``arrays``.

    Raises ``TypeError`` naming both arrays when they come from different libraries,
    except arrays of the library an out-of-core input computes its blocks with (NumPy
    weights beside a Dask input): the namespace is then the input's.
    The first of ``arrays`` (the input) is required; the others may be ``None``.
    """
    require_arrays(**dict([next(iter(arrays.items()))]))
    present = {name: a for name, a in arrays.items() if a is not None}
    first_name, first = next(iter(present.items()))
    try:
        xp = array_api_compat.array_namespace(first)
    except TypeError:
        msg = f"{first_name} must be an array of an Array API library, got {describe(first)}"
        raise TypeError(msg) from None
    owner = _backends.of(first)
    # An out-of-core input (Dask) computes its blocks with the library of its blocks, so
    # parameters of that library (NumPy) join it, as in a module that keeps NumPy weights.
    blocks = owner.block_backend if owner is not None else None
    for name, array in present.items():
        try:
            other = array_api_compat.array_namespace(array)
        except TypeError:
            msg = f"{name} must be an array of an Array API library, got {describe(array)}"
            raise TypeError(msg) from None
        if other is not xp and not (blocks is not None and _backends.backend_of(array) == blocks):
            msg = (
                f"{first_name} and {name} come from different array libraries: "
                f"{first_name} is a {describe(first)}, {name} is a {describe(array)}; "
                f"convert one so that both share a namespace"
            )
            raise TypeError(msg)
    return xp


def on_namespace(xp: Any, *arrays: Any) -> tuple[Any, ...]:
    """``arrays`` as arrays of namespace ``xp``, for an op's calls to accept them.

    Only an out-of-core namespace converts: NumPy parameters beside a Dask input become
    one-block Dask arrays (a graph key each, no copy).  Everything else, ``None``
    included, is returned as it is.
    """
    backend = _backends.of_namespace(xp)
    if backend is None or backend.block_backend is None:
        return arrays
    return tuple(a if a is None or backend.is_array(a) else xp.asarray(a) for a in arrays)


_FLOATING = ("float16", "bfloat16", "float32", "float64")


def floating_dtype_names(xp: Any) -> str:
    """The real floating dtypes namespace ``xp`` has, in words: ``'float16, ... or float64'``.

    >>> import array_api_strict
    >>> floating_dtype_names(array_api_strict)
    'float32 or float64'
    """
    names = []
    for name in _FLOATING:
        dtype = getattr(xp, name, None)
        try:
            if dtype is not None and xp.isdtype(dtype, "real floating"):
                names.append(name)
        except (TypeError, ValueError):  # not a dtype of this namespace
            continue
    return ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else "".join(names)


def require_float_dtype(xp: Any, **arrays: Any) -> Any:
    """The common real floating dtype of ``arrays``; ``TypeError`` otherwise."""
    present = {name: a for name, a in arrays.items() if a is not None}
    first_name, first = next(iter(present.items()))
    for name, array in present.items():
        if not xp.isdtype(array.dtype, "real floating"):
            msg = (
                f"{name} must have a real floating dtype ({floating_dtype_names(xp)}), "
                f"got {array.dtype}"
            )
            raise TypeError(msg)
        if array.dtype != first.dtype:
            msg = (
                f"{first_name} and {name} must have the same dtype, "
                f"got {first_name}.dtype={first.dtype} and {name}.dtype={array.dtype}"
            )
            raise TypeError(msg)
    return first.dtype


def is_batched(input: Any, ndim: int, kind: str) -> bool:
    """Whether ``input`` of an ``ndim``-d ``kind`` is batched; ``ValueError`` if no rank fits."""
    if input.ndim not in (ndim + 1, ndim + 2):
        msg = (
            f"input must be {ndim + 2}-D (N, C_in, *spatial) or {ndim + 1}-D "
            f"(C_in, *spatial) for a {ndim}-d {kind}, "
            f"got {input.ndim}-D input of shape {tuple(input.shape)}"
        )
        raise ValueError(msg)
    return bool(input.ndim == ndim + 2)


def conv_arrays(
    input: Any, weight: Any, bias: Any | None, ndim: int, kind: str, weight_axes: str
) -> tuple[Any, bool]:
    """The shared namespace of a convolution's arrays, and whether ``input`` is batched.

    Checks one namespace, one real floating dtype, the input's rank and the weight's
    rank (``weight_axes`` names its two leading axes, e.g. ``'C_out, C_in // groups'``).
    """
    require_arrays(input=input, weight=weight)
    xp = common_namespace(input=input, weight=weight, bias=bias)
    require_float_dtype(xp, input=input, weight=weight, bias=bias)
    batched = is_batched(input, ndim, kind)
    if weight.ndim != ndim + 2:
        msg = (
            f"weight must be {ndim + 2}-D ({weight_axes}, "
            f"{', '.join('K' + str(i) for i in range(ndim))}), got shape {tuple(weight.shape)}"
        )
        raise ValueError(msg)
    return xp, batched


# Sizes are Python ints and can be astronomically large (``stride=10**30``); past this
# no library can index the result, so the call is refused whatever the machine.
_MAX_ELEMENTS = 2**62


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not a POSIX system that says
        return None


# Read once: planning runs inside torch.compile's trace, which cannot call sysconf.
_MEMORY = _physical_memory()


def check_output_size(input: Any, shape: tuple[int, ...], what: str) -> None:
    """``ValueError`` before any allocation when an output of ``shape`` cannot exist.

    An output with more elements than any library can index is refused everywhere; one
    with more bytes than this machine's physical memory is refused unless ``input`` is a
    Dask array, which computes out of core in blocks.  ``what`` names the
    hyper-parameters that made the shape, for the message.
    """
    elements = math.prod(shape)
    size = elements * _itemsize(input)
    backend = _backends.of(input)
    memory = None if backend is not None and backend.out_of_core else _MEMORY
    if elements <= _MAX_ELEMENTS and (memory is None or size <= memory):
        return
    limit = (
        f"more than the {_MAX_ELEMENTS} elements any array library can index"
        if elements > _MAX_ELEMENTS
        else f"more than this machine's {_gib(memory or 0)} of memory"
    )
    msg = (
        f"the output would have shape {shape}: {elements} elements ({_gib(size)} of "
        f"{str(input.dtype).rsplit('.', 1)[-1]}), {limit}; check {what}"
    )
    raise ValueError(msg)


def _itemsize(array: Any) -> int:
    dtype = array.dtype
    itemsize = getattr(dtype, "itemsize", None)  # NumPy, JAX, PyTorch, CuPy dtypes
    if isinstance(itemsize, int):
        return itemsize
    xp = array_api_compat.array_namespace(array)
    return int(xp.finfo(dtype).bits) // 8


def _gib(size: int) -> str:
    return f"{size / 2**30:.3g} GiB"
