"""``BatchNorm1d/2d/3d`` and their lazy variants: torch's classes over :mod:`lucid.ops`.

The running statistics ``running_mean``, ``running_var`` and ``num_batches_tracked``
are buffers, keyed in the state dict as torch keys them, so a torch checkpoint loads
as is.  In training mode a call normalizes with the batch's statistics and replaces
the running ones (torch's momentum update, its unbiased running variance, and
``momentum=None`` for a cumulative average); in eval mode it uses the running ones.

Under ``jax.jit`` the update is functional, as JAX code expects: pass the model as an
argument and return it alongside the output; the returned model holds the updated
statistics (the one passed in is untouched)::

    step = jax.jit(lambda model, x: (model(x), model))
    y, model = step(model, x)

Calling a training-mode BatchNorm under ``jax.jit`` on a model that was closed over
(not an argument) would leak traced values into it, so it is an error that says so.
``num_batches_tracked`` is an integer leaf: ``jax.grad`` over a whole model needs
``allow_int=True`` (or differentiate the parameters only).
"""

from __future__ import annotations

from typing import Any, ClassVar

import array_api_compat
import numpy as np

from .. import ops
from .._backends import backend_of, convert, from_numpy, namespace, of, resolve_dtype
from .._typing import Array, DeviceLike, DTypeLike
from ..ops.activation import real_number
from ..ops.normalization import check_eps
from ._factory import check_floating_input, flag, lazy_placement, placement, positive_int
from ._lazy_features import LazyFeaturesMixin
from ._placement import is_tracer
from .module import Module
from .normalization import affine_parameters, check_channels

_BUFFER_NAMES = ("running_mean", "running_var", "num_batches_tracked")

__all__ = [
    "BatchNorm1d",
    "BatchNorm2d",
    "BatchNorm3d",
    "LazyBatchNorm1d",
    "LazyBatchNorm2d",
    "LazyBatchNorm3d",
]


def _momentum(value: object) -> float | None:
    if value is None:
        return None
    number = real_number(value, "momentum")
    if not 0.0 <= number <= 1.0:
        msg = f"momentum must be in [0, 1] or None (a cumulative average), got {value!r}"
        raise ValueError(msg)
    return number


def _without_gradient(x: Array) -> Array:
    """``x`` cut from autodiff: running statistics are state, not part of the graph.

    (On torch the statistics would otherwise hold every batch's graph.  JAX's functional
    autodiff never differentiates state that the loss does not use.)
    """
    backend = of(x)
    return x if backend is None else backend.detach(x)


def _kept_in_place(updates: dict[str, Array], buffers: dict[str, Array | None]) -> dict[str, Array]:
    """The new statistics in the library, device and dtype of the buffers they replace.

    They differ only beside an out-of-core input: a Dask batch gives lazy statistics for
    NumPy buffers, computed here in one pass (a lazy buffer would chain every batch's
    graph into the next).
    """
    moved = [n for n, v in updates.items() if backend_of(v) != backend_of(buffers[n])]
    source = of(updates[moved[0]]) if moved else None
    if source is None:
        return updates
    values = source.to_numpy_all([updates[n] for n in moved])
    kept = dict(updates)
    for name, value in zip(moved, values):
        old = buffers[name]
        assert old is not None  # a buffer that is updated exists
        library = backend_of(old)
        assert library is not None
        kept[name] = from_numpy(value, library, array_api_compat.device(old), old.dtype)
    return kept


def count_dtype(backend: str) -> Any:
    """torch's ``int64`` for ``num_batches_tracked``, or ``int32`` where the backend has no
    64-bit integers (JAX without ``jax_enable_x64``): a count of batches fits either."""
    xp = namespace(backend)
    try:
        return resolve_dtype(xp, "int64")
    except ValueError:
        return resolve_dtype(xp, "int32")


def running_buffers(num_features: int, backend: str, device: Any, dtype: Any) -> dict[str, Array]:
    """torch's initial running statistics: zeros, ones and a count of 0."""
    return {
        "running_mean": from_numpy(np.zeros(num_features), backend, device, dtype),
        "running_var": from_numpy(np.ones(num_features), backend, device, dtype),
        "num_batches_tracked": from_numpy(np.array(0), backend, device, count_dtype(backend)),
    }


class _BatchNorm(Module):
    """Batch normalization over the channel axis 1 (see :class:`BatchNorm2d`)."""

    #: The input ranks the class accepts, e.g. ``(2, 3)`` for ``BatchNorm1d``.
    _ranks: ClassVar[tuple[int, ...]]

    num_features: int | None
    weight: Array | None
    bias: Array | None
    running_mean: Array | None
    running_var: Array | None
    num_batches_tracked: Array | None

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: DeviceLike = None,
        dtype: DTypeLike = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self._configure(eps, momentum, affine, track_running_stats, bias)
        self.num_features = positive_int(num_features, "num_features")
        affine_parameters(self, (self.num_features,), affine, affine and bias, device, dtype)
        buffers: dict[str, Array | None] = dict.fromkeys(_BUFFER_NAMES)
        if track_running_stats:
            buffers.update(running_buffers(self.num_features, *placement(device, dtype)))
        for name, value in buffers.items():
            self.register_buffer(name, value)

    def _configure(
        self, eps: object, momentum: object, affine: object, track: object, bias: object
    ) -> None:
        self.eps = check_eps(eps)
        self.momentum = _momentum(momentum)
        self.affine = flag(affine, "affine")
        self.track_running_stats = flag(track, "track_running_stats")
        self._has_bias = flag(bias, "bias")

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, ``num_batches_tracked`` 0 (torch's)."""
        if self.running_mean is None:
            return
        fresh = running_buffers(
            int(self.running_mean.shape[0]),
            backend_of(self.running_mean),  # type: ignore[arg-type]
            array_api_compat.device(self.running_mean),
            self.running_mean.dtype,
        )
        for name, value in fresh.items():
            setattr(self, name, value)

    def _to_plan(self, backend: str | None, device: Any, dtype: Any, steps: list[Any]) -> None:
        """As every module moves, except that the count becomes the target's integer dtype."""
        buffers = self.__dict__["_buffers"]
        count = buffers.get("num_batches_tracked")
        if count is None or backend is None or backend == backend_of(count):
            super()._to_plan(backend, device, dtype, steps)
            return
        moved = convert(count, backend, device, count_dtype(backend))
        buffers["num_batches_tracked"] = None  # hidden from the generic plan
        try:
            super()._to_plan(backend, device, dtype, steps)
        finally:
            buffers["num_batches_tracked"] = count
        steps.append(lambda: buffers.__setitem__("num_batches_tracked", moved))

    def _check_input(self, x: Array, like: Array | None, features: int | None = None) -> None:
        check_floating_input(self, x, like)
        if x.ndim not in self._ranks:
            wanted = " or ".join(f"{r}D" for r in self._ranks)
            msg = (
                f"{type(self).__name__} expected {wanted} input (N, C, ...), got {x.ndim}D "
                f"input of shape {tuple(x.shape)}"
            )
            raise ValueError(msg)
        features = self.num_features if features is None else features
        assert features is not None
        check_channels(self, x, features)

    def forward(self, x: Array) -> Array:
        """Normalize ``x``; in training mode also replace the running statistics."""
        self._check_input(x, self.weight if self.weight is not None else self.running_mean)
        buffers = {name: getattr(self, name) for name in _BUFFER_NAMES}
        return self._normalize(x, self.weight, self.bias, buffers)

    def _normalize(
        self,
        x: Array,
        weight: Array | None,
        bias: Array | None,
        buffers: dict[str, Array | None],
        install: bool = True,
    ) -> Array:
        """The output; with ``install``, the updated statistics are set on the module."""
        mean, var = buffers["running_mean"], buffers["running_var"]
        count = buffers["num_batches_tracked"]
        use_batch = self.training or mean is None or var is None
        y = ops.batch_norm(
            x,
            None if use_batch else mean,
            None if use_batch else var,
            weight,
            bias,
            training=use_batch,
            eps=self.eps,
        )
        if self.training and self.track_running_stats and mean is not None and var is not None:
            if install and is_tracer(x) and not is_tracer(mean):
                msg = (
                    f"{type(self).__name__} in training mode under jax.jit must be an argument "
                    "of the jitted function and be returned, so that its running statistics "
                    "come back: step = jax.jit(lambda model, x: (model(x), model)); y, model "
                    "= step(model, x).  (Or call model.eval() to use the running statistics.)"
                )
                raise TypeError(msg)
            new_count = None
            if count is not None:  # an array still: NumPy makes a 0-d array plus 1 a scalar
                new_count = array_api_compat.array_namespace(count).asarray(
                    count + 1, dtype=count.dtype
                )
            factor: Any = self.momentum
            if factor is None:
                assert new_count is not None
                factor = 1.0 / _as_float(new_count, mean)
            batch = _without_gradient(x)
            new_mean, new_var = ops.batch_norm_stats(batch, mean, var, factor)
            updates = {"running_mean": new_mean, "running_var": new_var}
            if new_count is not None:
                updates["num_batches_tracked"] = new_count
            updates = _kept_in_place(updates, buffers)
            if install:
                for name, value in updates.items():
                    setattr(self, name, value)
            buffers.update(updates)
        return y

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.affine and self._has_bias}, "
            f"track_running_stats={self.track_running_stats}"
        )


def _as_float(count: Array, like: Array) -> Array:
    return array_api_compat.array_namespace(like).astype(count, like.dtype)


class BatchNorm1d(_BatchNorm):
    """Batch normalization of ``(N, C)`` or ``(N, C, L)`` inputs (torch's ``nn.BatchNorm1d``).

    Examples
    --------
    >>> import lucid
    >>> import lucid.nn as nn
    >>> nn.BatchNorm1d(16)
    BatchNorm1d(16, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
    """

    _ranks = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalization of ``(N, C, H, W)`` inputs (torch's ``nn.BatchNorm2d``).

    Parameters
    ----------
    num_features : int
        ``C``.
    eps : float
        Added to the variance (default 1e-5).
    momentum : float or None
        Weight of the batch in the running statistics (default 0.1); ``None``: a
        cumulative average over ``num_batches_tracked`` batches.
    affine : bool
        Learn ``weight`` (ones) and ``bias`` (zeros).
    track_running_stats : bool
        Keep the running statistics (buffers); without them every call uses the batch's.
    device, dtype : optional
    bias : bool, keyword-only
        With ``affine``, learn the bias too (torch 2.13's option).

    Examples
    --------
    >>> import numpy as np
    >>> import lucid
    >>> import lucid.nn as nn
    >>> bn = nn.BatchNorm2d(3)
    >>> [name for name, _ in bn.named_buffers()]
    ['running_mean', 'running_var', 'num_batches_tracked']
    >>> x = np.arange(24, dtype=np.float32).reshape(2, 3, 2, 2)
    >>> y = bn(x)                                  # training: batch statistics, update
    >>> [round(float(v), 3) for v in bn.running_mean], int(bn.num_batches_tracked)
    ([0.75, 1.15, 1.55], 1)
    >>> bool(abs(bn.eval()(x) - y).max() > 0.1)  # eval: the running statistics
    True
    """

    _ranks = (4,)


class BatchNorm3d(_BatchNorm):
    """Batch normalization of ``(N, C, D, H, W)`` inputs (torch's ``nn.BatchNorm3d``).

    Examples
    --------
    >>> import lucid.nn as nn
    >>> nn.BatchNorm3d(4, momentum=None)
    BatchNorm3d(4, eps=1e-05, momentum=None, affine=True, bias=True, track_running_stats=True)
    """

    _ranks = (5,)


# --- the lazy variants ------------------------------------------------------------------


class _LazyBatchNorm(LazyFeaturesMixin, _BatchNorm):
    """``num_features`` from the first input's axis 1, or from a state dict's shapes."""

    _feature_attr = "num_features"
    _feature_axis = 1
    _defining = (("weight", 0), ("bias", 0), ("running_mean", 0), ("running_var", 0))
    _integer_entries = ("num_batches_tracked",)

    def __init__(
        self,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: DeviceLike = None,
        dtype: DTypeLike = None,
        *,
        bias: bool = True,
    ) -> None:
        Module.__init__(self)
        self._configure(eps, momentum, affine, track_running_stats, bias)
        self.num_features = None
        remembered = lazy_placement(device, dtype)
        for name in ("weight", "bias"):
            self.register_parameter(name, None)
        for name in _BUFFER_NAMES:
            self.register_buffer(name, None)
        if remembered is not None:
            self.__dict__["_lazy_placement"] = remembered

    def _lazy_shapes(self, features: int) -> dict[str, tuple[int, ...]]:
        shapes: dict[str, tuple[int, ...]] = {}
        if self.affine:
            shapes["weight"] = (features,)
            if self._has_bias:
                shapes["bias"] = (features,)
        if self.track_running_stats:
            shapes |= {"running_mean": (features,), "running_var": (features,)}
            shapes["num_batches_tracked"] = ()
        return shapes

    def _lazy_values(self, features: int, where: tuple[str, Any, Any]) -> dict[str, Array]:
        values: dict[str, Array] = {}
        if self.affine:
            values["weight"] = from_numpy(np.ones(features), *where)
            if self._has_bias:
                values["bias"] = from_numpy(np.zeros(features), *where)
        if self.track_running_stats:
            values |= running_buffers(features, *where)
        return values

    def _features_of_input(self, x: Array) -> int:
        check_floating_input(self, x, None)
        if x.ndim not in self._ranks:
            self._check_input(x, None, 0)  # the rank's message
        return super()._features_of_input(x)

    def forward(self, x: Array) -> Array:
        """Materialise from ``x`` on the first call, then normalize as the eager class does.

        The first output (and, in training, the updated statistics) are computed with the
        new arrays before they are installed, so a rejected input changes nothing.
        """
        first: list[tuple[Array, dict[str, Array | None]]] = []

        def first_output(values: dict[str, Array | None]) -> None:
            like = values.get("weight", values.get("running_mean"))
            self._check_input(x, like, int(x.shape[1]))
            buffers = {name: values.get(name) for name in _BUFFER_NAMES}
            y = self._normalize(x, values.get("weight"), values.get("bias"), buffers, False)
            first.append((y, buffers))

        LazyFeaturesMixin.materialize(self, x, first_output)  # (our class may change)
        if not first:
            return _BatchNorm.forward(self, x)
        y, buffers = first[0]
        for name, value in buffers.items():
            if value is not None:
                setattr(self, name, value)
        return y


class LazyBatchNorm1d(_LazyBatchNorm, BatchNorm1d):
    """A ``BatchNorm1d`` whose ``num_features`` is inferred from the first input.

    Examples
    --------
    >>> import lucid
    >>> import lucid.nn as nn
    >>> bn = nn.LazyBatchNorm1d()
    >>> bn(lucid.randn(4, 6)).shape
    (4, 6)
    >>> bn
    BatchNorm1d(6, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
    """

    cls_to_become = BatchNorm1d


class LazyBatchNorm2d(_LazyBatchNorm, BatchNorm2d):
    """A ``BatchNorm2d`` whose ``num_features`` is inferred from the first input (or state dict).

    Examples
    --------
    >>> import lucid.nn as nn
    >>> nn.LazyBatchNorm2d()
    LazyBatchNorm2d(None, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
    """

    cls_to_become = BatchNorm2d


class LazyBatchNorm3d(_LazyBatchNorm, BatchNorm3d):
    """A ``BatchNorm3d`` whose ``num_features`` is inferred from the first input (or state dict)."""

    cls_to_become = BatchNorm3d
