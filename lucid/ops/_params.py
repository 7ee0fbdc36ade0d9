"""Normalise and validate convolution hyper-parameters, once, for ops and modules alike.

Every check here runs on plain Python integers before any array work is done, so a
bad argument costs nothing and leaves nothing half-computed.  Messages name the
parameter, the value received and what is allowed.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "ConvParams",
    "ConvTransposeParams",
    "as_tuple",
    "conv_output_size",
    "conv_transpose_output_size",
    "output_padding_for_size",
    "validate_conv_params",
    "validate_conv_transpose_params",
]


def _as_int(value: object, name: str) -> int:
    # bool is an int subclass, but `stride=True` is always a mistake.
    if isinstance(value, bool):
        msg = f"{name} must be an int, got bool {value!r}"
        raise TypeError(msg)
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        msg = f"{name} must be an int, got {type(value).__name__} {value!r}"
        raise TypeError(msg) from None


def as_tuple(value: object, ndim: int, name: str) -> tuple[int, ...]:
    """Return ``value`` as a tuple of ``ndim`` ints.

    ``value`` is an int (repeated ``ndim`` times) or a sequence of exactly ``ndim`` ints.

    >>> as_tuple(3, 2, "stride")
    (3, 3)
    >>> as_tuple((1, 2), 2, "dilation")
    (1, 2)
    """
    if isinstance(value, str):
        if name == "padding":
            msg = (
                f"padding={value!r}: String padding is not supported for transposed "
                f"convolutions; use an int or a tuple of {ndim} ints"
            )
            raise ValueError(msg)
        msg = f"{name} must be an int or a tuple of {ndim} ints, got str {value!r}"
        raise TypeError(msg)
    if isinstance(value, Sequence):
        if len(value) != ndim:
            msg = f"{name} must be an int or a tuple of {ndim} ints, got {tuple(value)!r}"
            raise ValueError(msg)
        return tuple(_as_int(v, name) for v in value)
    try:
        return (_as_int(value, name),) * ndim
    except TypeError:
        msg = (
            f"{name} must be an int or a tuple of {ndim} ints, got {type(value).__name__} {value!r}"
        )
        raise TypeError(msg) from None


def _require_all(values: tuple[int, ...], name: str, *, minimum: int) -> None:
    if any(v < minimum for v in values):
        shown = values[0] if len(set(values)) == 1 else values
        rule = "positive" if minimum == 1 else "non-negative"
        msg = f"{name} must be {rule} (>= {minimum}), got {shown!r}"
        raise ValueError(msg)


def _window(
    ndim: int, kernel_size: object, stride: object, dilation: object
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """``kernel_size``, ``stride`` and ``dilation`` as positive ``ndim``-tuples."""
    kernel = as_tuple(kernel_size, ndim, "kernel_size")
    _require_all(kernel, "kernel_size", minimum=1)
    strides = as_tuple(stride, ndim, "stride")
    _require_all(strides, "stride", minimum=1)
    dilations = as_tuple(dilation, ndim, "dilation")
    _require_all(dilations, "dilation", minimum=1)
    return kernel, strides, dilations


@dataclass(frozen=True)
class ConvTransposeParams:
    """Validated hyper-parameters of an N-d transposed convolution."""

    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    output_padding: tuple[int, ...]
    dilation: tuple[int, ...]
    groups: int

    @property
    def ndim(self) -> int:
        return len(self.kernel_size)


def validate_groups(groups: object) -> int:
    groups = _as_int(groups, "groups")
    if groups <= 0:
        msg = f"groups must be a positive int, got {groups}"
        raise ValueError(msg)
    return groups


def validate_conv_transpose_params(
    ndim: int,
    kernel_size: object,
    stride: object = 1,
    padding: object = 0,
    output_padding: object = 0,
    groups: object = 1,
    dilation: object = 1,
) -> ConvTransposeParams:
    """Check and normalise everything that does not depend on the arrays.

    >>> validate_conv_transpose_params(2, 4, stride=2, padding=1).stride
    (2, 2)
    """
    kernel, strides, dilations = _window(ndim, kernel_size, stride, dilation)
    pads = as_tuple(padding, ndim, "padding")
    _require_all(pads, "padding", minimum=0)
    out_pads = as_tuple(output_padding, ndim, "output_padding")
    _require_all(out_pads, "output_padding", minimum=0)
    for op, s, d in zip(out_pads, strides, dilations):
        # torch's rule: the extra rows must be smaller than stride *or* dilation.
        if op >= s and op >= d:
            msg = (
                f"output_padding must be smaller than either stride or dilation, "
                f"got output_padding={out_pads}, stride={strides}, dilation={dilations}"
            )
            raise ValueError(msg)
    return ConvTransposeParams(kernel, strides, pads, out_pads, dilations, validate_groups(groups))


def conv_transpose_output_size(
    input_size: Sequence[int],
    kernel_size: object,
    stride: object = 1,
    padding: object = 0,
    output_padding: object = 0,
    dilation: object = 1,
) -> tuple[int, ...]:
    """Spatial output size of a transposed convolution.

    Per dimension: ``(in - 1) * stride - 2 * padding + dilation * (kernel - 1)
    + output_padding + 1``, the formula of ``torch.nn.ConvTranspose2d``.

    Parameters
    ----------
    input_size : sequence of int
        The spatial input size, e.g. ``(H, W)``.
    kernel_size, stride, padding, output_padding, dilation : int or tuple of int
        As for :func:`lucid.ops.conv_transpose2d`.

    Returns
    -------
    tuple of int
        The spatial output size. It is not checked for positivity.

    Examples
    --------
    >>> from lucid.ops import conv_transpose_output_size
    >>> conv_transpose_output_size((8, 8), kernel_size=4, stride=2, padding=1)
    (16, 16)
    >>> conv_transpose_output_size((5,), 3, stride=2, output_padding=1)
    (12,)
    """
    sizes = tuple(_as_int(v, "input_size") for v in input_size)
    ndim = len(sizes)
    p = validate_conv_transpose_params(
        ndim, kernel_size, stride, padding, output_padding, 1, dilation
    )
    return spatial_output_size(sizes, p)


def output_padding_for_size(
    output_size: Sequence[int],
    input_size: tuple[int, ...],
    params: ConvTransposeParams,
    batched: bool,
) -> tuple[int, ...]:
    """The ``output_padding`` that yields ``output_size`` (torch's rule).

    ``output_size`` holds the spatial sizes, or the full shape including batch and
    channel dimensions; each size must lie in ``[minimum, minimum + stride - 1]``.
    """
    ndim = params.ndim
    leading = 2 if batched else 1
    if isinstance(output_size, str) or not isinstance(output_size, Sequence):
        msg = f"output_size must be a sequence of ints, got {output_size!r}"
        raise TypeError(msg)
    requested = tuple(_as_int(v, "output_size") for v in output_size)
    if len(requested) == ndim + leading:
        requested = requested[leading:]
    if len(requested) != ndim:
        msg = (
            f"output_size must have {ndim} or {ndim + leading} elements "
            f"(got {len(requested)}): {tuple(output_size)!r}"
        )
        raise ValueError(msg)
    zero = ConvTransposeParams(
        params.kernel_size, params.stride, params.padding, (0,) * ndim, params.dilation, 1
    )
    smallest = spatial_output_size(input_size, zero)
    largest = tuple(m + s - 1 for m, s in zip(smallest, params.stride))
    for size, lo, hi in zip(requested, smallest, largest):
        if not lo <= size <= hi:
            msg = (
                f"output_size={requested} is not reachable: valid sizes range from "
                f"{smallest} to {largest} (for an input of spatial size {input_size})"
            )
            raise ValueError(msg)
    return tuple(size - lo for size, lo in zip(requested, smallest))


def spatial_output_size(input_size: tuple[int, ...], p: ConvTransposeParams) -> tuple[int, ...]:
    """The output size formula of ``torch.nn.ConvTranspose{1,2,3}d``, unchecked."""
    return tuple(
        (n - 1) * s - 2 * pad + d * (k - 1) + op + 1
        for n, k, s, pad, op, d in zip(
            input_size, p.kernel_size, p.stride, p.padding, p.output_padding, p.dilation
        )
    )


@dataclass(frozen=True)
class ConvParams:
    """Validated hyper-parameters of an N-d (forward) convolution.

    ``padding`` holds ``(low, high)`` per dimension: ``'same'`` can pad unevenly.
    """

    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[tuple[int, int], ...]
    dilation: tuple[int, ...]
    groups: int

    @property
    def ndim(self) -> int:
        return len(self.kernel_size)


_PADDING_MODES = ("same", "valid")


def validate_conv_params(
    ndim: int,
    kernel_size: object,
    stride: object = 1,
    padding: object = 0,
    dilation: object = 1,
    groups: object = 1,
) -> ConvParams:
    """Check and normalise a forward convolution's hyper-parameters (torch's rules).

    ``padding`` is an int, a tuple of ``ndim`` ints, ``'valid'`` (no padding) or
    ``'same'`` (output size equals input size; needs stride 1, as in torch).

    >>> validate_conv_params(1, 4, padding="same").padding
    ((1, 2),)
    """
    kernel, strides, dilations = _window(ndim, kernel_size, stride, dilation)
    if isinstance(padding, str):
        if padding not in _PADDING_MODES:
            msg = (
                f"padding={padding!r} is not supported; use 'same', 'valid', an int "
                f"or a tuple of {ndim} ints"
            )
            raise ValueError(msg)
        if padding == "same" and any(s != 1 for s in strides):
            msg = f"padding='same' is not supported for strided convolutions (stride={strides})"
            raise ValueError(msg)
        totals = (
            tuple(d * (k - 1) for k, d in zip(kernel, dilations))
            if padding == "same"
            else (0,) * ndim
        )
        # torch puts the odd extra element of 'same' padding on the high side.
        pads = tuple((t // 2, t - t // 2) for t in totals)
    else:
        symmetric = as_tuple(padding, ndim, "padding")
        _require_all(symmetric, "padding", minimum=0)
        pads = tuple((p, p) for p in symmetric)
    return ConvParams(kernel, strides, pads, dilations, validate_groups(groups))


def conv_output_size(input_size: tuple[int, ...], p: ConvParams) -> tuple[int, ...]:
    """The output size formula of ``torch.nn.Conv{1,2,3}d``, unchecked."""
    return tuple(
        (n + lo + hi - d * (k - 1) - 1) // s + 1
        for n, (lo, hi), k, s, d in zip(input_size, p.padding, p.kernel_size, p.stride, p.dilation)
    )
