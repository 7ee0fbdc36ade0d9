"""``Identity``, ``Linear`` and ``LazyLinear``: torch's classes over :func:`lucid.ops.linear`."""

from __future__ import annotations

from typing import Any

from .. import ops
from .._typing import Array, DeviceLike, DTypeLike
from . import init
from ._factory import (
    arrays_from_numpy,
    check_floating_input,
    default_linear_init,
    flag,
    lazy_placement,
    placement,
    positive_int,
)
from ._lazy_features import LazyFeaturesMixin
from .module import Module

__all__ = ["Identity", "LazyLinear", "Linear"]


class Identity(Module):
    """Return the input unchanged; any constructor arguments are ignored, as in torch.

    Examples
    --------
    >>> import lucid
    >>> import lucid.nn as nn
    >>> nn.Identity(54, unused="argument")(lucid.ones(2)).tolist()
    [1.0, 1.0]
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Array) -> Array:
        return x


class Linear(Module):
    """``y = x @ weight.T + bias`` over the last axis (torch's ``nn.Linear``).

    Parameters
    ----------
    in_features, out_features : int
    bias : bool
        Learn an additive bias (default True).
    device, dtype : optional
        Where the parameters live (default: lucid's default backend, float32).

    The weight ``(out_features, in_features)`` and the bias are drawn from torch's
    ``U(-1/sqrt(in_features), 1/sqrt(in_features))`` with lucid's random stream.

    Examples
    --------
    >>> import lucid
    >>> import lucid.nn as nn
    >>> layer = nn.Linear(20, 30)
    >>> layer(lucid.zeros(128, 20)).shape
    (128, 30)
    >>> layer
    Linear(in_features=20, out_features=30, bias=True)
    """

    in_features: int | None
    weight: Array
    bias: Array | None

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: DeviceLike = None,
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__()
        self.in_features = positive_int(in_features, "in_features")
        self.out_features = positive_int(out_features, "out_features")
        self._has_bias = flag(bias, "bias")
        values = default_linear_init(self.out_features, self.in_features, self._has_bias)
        for name, value in arrays_from_numpy(values, *placement(device, dtype)).items():
            self.register_parameter(name, value)

    def reset_parameters(self) -> None:
        """Draw new parameters from torch's initial distribution."""
        if self.weight is None or self.in_features is None:
            return
        values = default_linear_init(self.out_features, self.in_features, self._has_bias)
        weight = values["weight"]
        assert weight is not None
        self.weight = init._fill(self.weight, weight)
        if self.bias is not None and values["bias"] is not None:
            self.bias = init._fill(self.bias, values["bias"])

    def forward(self, x: Array) -> Array:
        check_floating_input(self, x, self.weight)
        return ops.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self._has_bias}"
        )


class LazyLinear(LazyFeaturesMixin, Linear):
    """A ``Linear`` whose ``in_features`` is inferred from the first input (or state dict).

    Until then ``in_features`` is ``None`` and ``weight``/``bias`` are ``None``; afterwards
    the module *is* a :class:`Linear`.  A first input the layer rejects changes nothing;
    a state dict's ``weight`` materialises it (with ``in_features = weight.shape[1]``).

    Examples
    --------
    >>> import lucid
    >>> import lucid.nn as nn
    >>> layer = nn.LazyLinear(30)
    >>> layer
    LazyLinear(in_features=None, out_features=30, bias=True)
    >>> layer(lucid.zeros(4, 20)).shape
    (4, 30)
    >>> layer
    Linear(in_features=20, out_features=30, bias=True)
    """

    cls_to_become = Linear
    _feature_attr = "in_features"
    _feature_axis = -1
    _defining = (("weight", 1),)

    def __init__(
        self,
        out_features: int,
        bias: bool = True,
        device: DeviceLike = None,
        dtype: DTypeLike = None,
    ) -> None:
        Module.__init__(self)
        self.in_features = None
        self.out_features = positive_int(out_features, "out_features")
        self._has_bias = flag(bias, "bias")
        remembered = lazy_placement(device, dtype)
        self.register_parameter("weight", None)
        self.register_parameter("bias", None)
        if remembered is not None:
            self.__dict__["_lazy_placement"] = remembered

    def _lazy_shapes(self, features: int) -> dict[str, tuple[int, ...]]:
        shapes: dict[str, tuple[int, ...]] = {"weight": (self.out_features, features)}
        if self._has_bias:
            shapes["bias"] = (self.out_features,)
        return shapes

    def _lazy_values(self, features: int, where: tuple[str, Any, Any]) -> dict[str, Array]:
        values = default_linear_init(self.out_features, features, self._has_bias)
        return {k: v for k, v in arrays_from_numpy(values, *where).items() if v is not None}

    def _features_of_input(self, x: Array) -> int:
        check_floating_input(self, x, None)
        return super()._features_of_input(x)

    def forward(self, x: Array) -> Array:
        """Materialise from ``x`` on the first call (computing with the new weights first)."""
        first: list[Array] = []

        def first_output(params: dict[str, Array | None]) -> None:
            check_floating_input(self, x, params["weight"])
            first.append(ops.linear(x, params["weight"], params.get("bias")))

        LazyFeaturesMixin.materialize(self, x, first_output)  # (our class may change)
        return first[0] if first else Linear.forward(self, x)
