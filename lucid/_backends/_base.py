"""What lucid needs to know about an array library: the :class:`ArrayBackend` interface.

Each supported library is one small subclass in this package (``_numpy.py``,
``_torch.py``, ...), and nothing outside this package asks which library an array
belongs to.  A subclass overrides only what differs from the Array API defaults here.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, TypeVar

import array_api_compat
import numpy as np

from .._typing import Array

__all__ = [
    "DEVICE_CHOICES",
    "DTYPE_NAMES",
    "ArrayBackend",
    "constant_when_traced",
    "imported",
    "parse_device_string",
]

F = TypeVar("F", bound=Callable[..., Any])

#: The dtype names accepted as ``DTypeLike`` strings (not every backend has all of them).
DTYPE_NAMES = (
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float16",
    "bfloat16",
    "float32",
    "float64",
    "complex64",
    "complex128",
)

#: What a ``DeviceLike`` may be, for messages.
DEVICE_CHOICES = (
    "None, 'cpu', 'cuda', 'cuda:N', 'gpu', 'gpu:N', a backend's device object, "
    "a jax Sharding or a list of jax devices"
)


def parse_device_string(device: object) -> tuple[str, int | None] | None:
    """``('cpu' | 'gpu', index)`` for a device string lucid understands, else ``None``."""
    if not isinstance(device, str):
        return None
    kind, colon, index = device.strip().lower().partition(":")
    if kind in ("cpu", "cuda", "gpu") and (index.isdigit() if colon else True):
        return ("cpu" if kind == "cpu" else "gpu"), (int(index) if index else None)
    return None


def unavailable(given: object, backend: str) -> str:
    """The message for a device that backend ``backend`` does not have."""
    return f"device={given!r} is not available with backend {backend!r}; accepted: {DEVICE_CHOICES}"


def constant_when_traced(fn: F) -> F:
    """Mark ``fn``, host-side planning whose result follows from its plain Python
    arguments alone, to be *called* by ``torch.compile``'s tracer, its result kept as
    a constant, instead of traced line by line (seconds for a loop over hundreds of
    table rows).  The mark is the attribute ``torch.compiler.assume_constant_result``
    sets, so setting it needs no torch import."""
    fn._dynamo_marked_constant = True  # type: ignore[attr-defined]
    return fn


@constant_when_traced
def imported(module: str) -> bool:
    """Whether the module named ``module`` is imported (an ``import`` of it after this
    says ``True`` then imports nothing).

    Called, not traced, by ``torch.compile``: a graph that reads ``sys.modules`` itself
    spends about 0.3 s tracing the read and guards on every key of it (1.5-2 s of guard
    building per graph; BENCHMARKS.md, "torch.compile: the plan cache and
    ``sys.modules``").
    """
    return module in sys.modules


class ArrayBackend:
    """One array library, as lucid uses it.  Subclasses set the class attributes.

    Instances are stateless singletons (see :mod:`lucid._backends`); methods that take
    an array assume it belongs to this library.
    """

    #: lucid's name of the library (``lucid.set_default_backend(name)``).
    name: ClassVar[str]
    #: The import name whose presence in ``sys.modules`` means the caller uses it.
    module: ClassVar[str]
    #: The distribution to ``pip install``.
    distribution: ClassVar[str]
    #: Whether the library differentiates (autograd, ``jax.grad``).
    differentiable: ClassVar[bool] = False
    #: The prefix of ``str(dtype)`` for the library's dtype objects, e.g. ``'torch.'``.
    dtype_prefix: ClassVar[str] = ""
    #: Whether arrays are computed lazily in blocks, possibly larger than memory (Dask):
    #: the ops then work block by block and size checks skip the memory bound.
    out_of_core: ClassVar[bool] = False
    #: The library of an out-of-core backend's blocks (Dask's: NumPy), whose arrays, as
    #: parameters, compute beside this one's (a module's weights beside a Dask input).
    block_backend: ClassVar[str | None] = None
    #: Whether the library has its own convolutions to measure lucid against.
    native_convolutions: ClassVar[bool] = False
    #: What :meth:`compiled` compiles with, for reports (``None``: nothing).
    compiler: ClassVar[str | None] = None

    def __repr__(self) -> str:
        return f"<lucid backend {self.name!r}>"

    # --- presence and detection ----------------------------------------------------

    def is_installed(self) -> bool:
        return self.module in sys.modules or importlib.util.find_spec(self.module) is not None

    def in_use(self) -> bool:
        """Whether the caller has imported the library (lucid never imports it first)."""
        return imported(self.module)

    def is_array(self, x: Any) -> bool:
        raise NotImplementedError

    def is_namespace(self, xp: Any) -> bool:
        raise NotImplementedError

    def namespace(self) -> Any:
        """The library's Array API namespace, imported on first use."""
        raise NotImplementedError

    # --- devices ---------------------------------------------------------------------

    def owns_device(self, device: object) -> bool:
        """Whether ``device`` is one of this library's device (or placement) objects."""
        return False

    def owns_dtype(self, dtype: object) -> bool:
        """Whether ``dtype`` is an object only this library has (NumPy's are shared)."""
        return False

    def native_device(self, device: Any) -> Any:
        """One of this library's own device objects, as the library takes it."""
        return device

    def parse_device(self, device: Any) -> tuple[str, int | None]:
        """``(kind, index)`` of one of this library's device objects."""
        return str(device), None

    def device(self, kind: str, index: int | None, given: object) -> Any:
        """The native device for ``kind`` (``'cpu'``/``'gpu'``) and ``index``.

        ``ValueError`` when this machine or library lacks it; ``given`` is what the
        caller wrote, for the message.
        """
        if kind == "cpu":
            return self.cpu_device()
        raise ValueError(unavailable(given, self.name))

    def cpu_device(self) -> Any:
        return "cpu"

    def device_of(self, x: Array) -> Any:
        return array_api_compat.device(x)

    def place(self, x: Array, device: Any) -> Array:
        """``x`` on native ``device`` (``x`` itself when it is there already)."""
        if self.device_of(x) == device:
            return x
        return array_api_compat.to_device(x, device)

    def same_place(self, a: Array, b: Array) -> bool:
        """Whether arrays ``a`` and ``b`` can meet in one computation without a move."""
        return bool(self.device_of(a) == self.device_of(b))

    def writes_in_place(self, *arrays: Array) -> bool:
        """Whether a fresh array may take, by item assignment, values computed from
        ``arrays`` (not under ``torch.func.vmap``, whose batched values cannot be written
        into an unbatched array)."""
        return True

    def cond(self, pred: Array, if_true: Callable[[], Any], if_false: Callable[[], Any]) -> Any:
        """``if_true()`` where the 0-d boolean array ``pred`` holds, else ``if_false()``;
        under a tracing compiler the compiled program decides when it runs."""
        return if_true() if bool(pred) else if_false()

    def device_hint(self, x: Array, label: str) -> str:
        """What to write after ``device=`` to put a module where input ``x`` is."""
        return repr(label)

    def is_tracer(self, x: Any) -> bool:
        """Whether ``x`` is a placeholder of a trace, whose device is not known."""
        return False

    # --- dtypes ----------------------------------------------------------------------

    def check_dtype(self, name: str) -> None:
        """``ValueError`` when the library cannot hold dtype ``name`` right now."""

    # --- conversion and copies -------------------------------------------------------

    def to_numpy(self, x: Array) -> np.ndarray:
        return np.asarray(x)

    def to_numpy_all(self, arrays: Sequence[Array]) -> list[np.ndarray]:
        """Several arrays as NumPy; a lazy library computes them together, in one pass."""
        return [self.to_numpy(x) for x in arrays]

    def from_numpy(self, array: np.ndarray, device: Any = None, dtype: Any = None) -> Array:
        """A new array holding ``array``'s values on native ``device`` with native ``dtype``."""
        return self.namespace().asarray(array, dtype=dtype, device=device, copy=True)

    def copy(self, x: Array) -> Array:
        """A copy that shares no memory with ``x`` (immutable arrays may be returned as is)."""
        return self.namespace().asarray(x, copy=True)

    def fill(self, array: Array, values: np.ndarray) -> Array:
        """``values`` in ``array``'s place: in place where the library allows it."""
        return self.from_numpy(values, self.device_of(array), array.dtype)

    def concrete(self) -> contextlib.AbstractContextManager[Any]:
        """A context in which new arrays are concrete, even while tracing."""
        return contextlib.nullcontext()

    # --- parameters and autodiff -----------------------------------------------------

    def as_parameter(self, x: Array) -> Array:
        """``x`` as a trainable parameter (torch: a leaf ``nn.Parameter``)."""
        return x

    def detach(self, x: Array) -> Array:
        """``x`` cut from any autodiff graph, for state dicts."""
        return x

    def custom_grad(
        self,
        forward: Callable[[Any, Any, Any], Any],
        backward: Callable[[Any, Any, Any, tuple[bool, bool, bool]], tuple[Any, Any, Any]],
        x: Array,
        weight: Array,
        bias: Array | None,
    ) -> Any:
        """``forward(x, weight, bias)``, which the library's autodiff differentiates with
        ``backward(x, weight, gy, needs) -> (dx, dweight, dbias)``; a library without
        autodiff just calls ``forward``."""
        return forward(x, weight, bias)

    def compiling(self) -> bool:
        """Whether a compiler is tracing the current call (host-side caches must give way:
        ``torch.compile``; JAX's traced values are never cached on the host by lucid)."""
        return False

    def run_uncompiled(self, fn: Callable[[], Any]) -> Any:
        """``fn()``, with no compiler watching the Python it runs (a lazy module's first
        call, run eagerly where a compiler gave up tracing it)."""
        return fn()

    def compiled(self, fn: Any) -> Any:
        """``fn`` as the library compiles functions (``jax.jit``); as it is elsewhere."""
        return fn

    def native_conv_transpose(self, ndim: int) -> Callable[..., Any] | None:
        """The library's own ``ndim``-D transposed convolution, with the arguments of
        ``torch.nn.functional.conv_transpose{ndim}d`` (``None`` without one): what
        the self-check times lucid against."""
        return None

    def inference(self) -> contextlib.AbstractContextManager[Any]:
        """A context without autodiff bookkeeping (``torch.no_grad``)."""
        return contextlib.nullcontext()

    def copy_into(self, target: Array, values: Array) -> bool:
        """Copy ``values`` into ``target`` in place if the library loads that way."""
        return False
