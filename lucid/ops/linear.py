"""The affine map of a fully connected layer."""

from __future__ import annotations

from typing import Any

from ._checks import common_namespace, on_namespace, require_arrays, require_float_dtype
from ._plans import compiled_when_eager

__all__ = ["linear"]


@compiled_when_eager
def linear(input: Any, weight: Any, bias: Any | None = None) -> Any:
    """``input @ weight.T + bias``: torch's ``F.linear``.

    Parameters
    ----------
    input : array of shape ``(*, in_features)``
    weight : array of shape ``(out_features, in_features)``
    bias : array of shape ``(out_features,)`` or None

    Returns
    -------
    array of shape ``(*, out_features)``

    Examples
    --------
    >>> import numpy as np
    >>> linear(np.ones((2, 3)), np.ones((4, 3)), np.arange(4.0)).tolist()
    [[3.0, 4.0, 5.0, 6.0], [3.0, 4.0, 5.0, 6.0]]
    """
    require_arrays(input=input, weight=weight)
    xp = common_namespace(input=input, weight=weight, bias=bias)
    require_float_dtype(xp, input=input, weight=weight, bias=bias)
    if weight.ndim != 2:
        msg = f"weight must be 2-D (out_features, in_features), got shape {tuple(weight.shape)}"
        raise ValueError(msg)
    out_features, in_features = (int(s) for s in weight.shape)
    if input.ndim < 1 or int(input.shape[-1]) != in_features:
        msg = (
            f"input's last dimension must be in_features={in_features} (weight shape "
            f"{tuple(weight.shape)}), got input shape {tuple(input.shape)}"
        )
        raise ValueError(msg)
    if bias is not None and tuple(bias.shape) != (out_features,):
        msg = f"bias must have shape ({out_features},) (out_features), got {tuple(bias.shape)}"
        raise ValueError(msg)
    weight, bias = on_namespace(xp, weight, bias)
    y = xp.matmul(input, xp.permute_dims(weight, (1, 0)))
    return y if bias is None else y + bias
