"""Forward convolution, written once against the Python Array API standard.

The adjoint of the transposed convolution in :mod:`lucid.ops.conv_transpose`, and as
dimension-generic.  The input is padded with zeros (``padding``, or the uneven split
``'same'`` needs); then one of two formulations, whichever holds fewer elements
(:func:`products_first`):

- **im2col as strided slices** (:func:`_conv_windows`).  Tap ``k`` reads input rows
  ``k*dilation + o*stride`` for output rows ``o``: one strided slice per tap, no
  gather.  The slices of a chunk of taps are stacked and contracted with the weights
  in one grouped GEMM over the whole batch, channels-last or channels-first
  (:func:`windows_channels_last`), and the chunks are summed.
- **The products first** (:func:`_conv_products`), for layers with fewer output than
  input channels: one GEMM forms every tap's products over the whole padded input,
  and each tap's strided window of its products is added to the output.

Taps are processed a chunk at a time, so the buffers stay near the size of the input
and output instead of ``prod(kernel_size)`` times it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import array_api_extra as xpx

from .._backend import namespace_name
from .._backends import of_namespace
from ._autocast import autocast_arrays
from ._blockwise import (
    blockwise_conv,
    chunked,
    forward_window,
)
from ._checks import check_output_size, conv_arrays
from ._ct_geometry import tap_windows
from ._params import ConvParams, conv_output_size, validate_conv_params
from ._plans import cached_plan, not_yet_planned, planned_call, signature
from ._traits import DEFAULT, Traits, traits

__all__ = ["conv1d", "conv2d", "conv3d", "conv_nd"]


Padding = int | Sequence[int] | str


def conv1d(
    input: Any,
    weight: Any,
    bias: Any | None = None,
    stride: int | tuple[int] = 1,
    padding: Padding = 0,
    dilation: int | tuple[int] = 1,
    groups: int = 1,
) -> Any:
    """1-D convolution (cross-correlation): input ``(N, C_in, L)`` or ``(C_in, L)``.

    Semantics of ``torch.nn.functional.conv1d``; see :func:`conv2d` for the parameters.

    Examples
    --------
    >>> import numpy as np
    >>> from lucid.ops import conv1d
    >>> conv1d(np.ones((2, 3, 10)), np.ones((5, 3, 4)), stride=2, padding=1).shape
    (2, 5, 5)
    """
    return conv_nd(input, weight, bias, stride, padding, dilation, groups, ndim=1)


def conv2d(
    input: Any,
    weight: Any,
    bias: Any | None = None,
    stride: int | tuple[int, int] = 1,
    padding: Padding = 0,
    dilation: int | tuple[int, int] = 1,
    groups: int = 1,
) -> Any:
    """2-D convolution (cross-correlation) of any Array API array.

    The semantics are those of ``torch.nn.functional.conv2d``.

    Parameters
    ----------
    input : array
        ``(N, C_in, H, W)``, or ``(C_in, H, W)`` for one unbatched sample.
    weight : array
        ``(C_out, C_in // groups, KH, KW)``, same namespace and dtype as ``input``.
    bias : array, optional
        ``(C_out,)``.
    stride, dilation : int or tuple of two ints
    padding : int, tuple of two ints, ``'valid'`` or ``'same'``
        Zeros added on both sides; ``'same'`` keeps the spatial size (stride 1 only)
        and puts an odd extra zero on the high side, as torch does.
    groups : int
        Blocked connections from input to output channels.

    Returns
    -------
    array
        ``(N, C_out, H_out, W_out)`` (or unbatched) in the input's namespace, device and
        dtype, with ``H_out = (H + 2*padding - dilation*(KH - 1) - 1) // stride + 1``.

    Examples
    --------
    >>> import array_api_strict as xp
    >>> from lucid.ops import conv2d
    >>> y = conv2d(xp.ones((1, 2, 5, 5)), xp.ones((4, 2, 3, 3)), padding="same")
    >>> y.shape
    (1, 4, 5, 5)
    >>> float(y[0, 0, 2, 2]), float(y[0, 0, 0, 0])
    (18.0, 8.0)
    """
    return conv_nd(input, weight, bias, stride, padding, dilation, groups, ndim=2)


def conv3d(
    input: Any,
    weight: Any,
    bias: Any | None = None,
    stride: int | tuple[int, int, int] = 1,
    padding: Padding = 0,
    dilation: int | tuple[int, int, int] = 1,
    groups: int = 1,
) -> Any:
    """3-D convolution: input ``(N, C_in, D, H, W)`` or ``(C_in, D, H, W)``.

    Semantics of ``torch.nn.functional.conv3d``; see :func:`conv2d` for the parameters.

    Examples
    --------
    >>> import numpy as np
    >>> from lucid.ops import conv3d
    >>> conv3d(np.ones((1, 2, 4, 6, 8)), np.ones((3, 2, 2, 2, 2)), stride=2).shape
    (1, 3, 2, 3, 4)
    """
    return conv_nd(input, weight, bias, stride, padding, dilation, groups, ndim=3)


def conv_nd(
    input: Any,
    weight: Any,
    bias: Any | None = None,
    stride: int | Sequence[int] = 1,
    padding: Padding = 0,
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
    *,
    ndim: int,
) -> Any:
    """Convolution over ``ndim`` spatial dimensions; see :func:`conv2d`."""
    input, weight, bias = autocast_arrays(input, weight, bias)
    args = (stride, padding, dilation, groups, ndim)
    if chunked(input, weight, bias):
        return _chunked(input, weight, bias, args)
    plan = cached_plan(
        signature((input, weight, bias), ("conv", *args)),
        lambda: _plan(input, weight, bias, *args),
    )
    return plan.call(input, weight, bias)


def _chunked(input: Any, weight: Any, bias: Any | None, args: tuple[Any, ...]) -> Any:
    """A chunked (Dask) input: the output in blocks, each from its input rows and halo."""
    plan = _plan(input, weight, bias, *args)
    p, ndim = plan.params, args[-1]

    def local(window: Any, weight: Any) -> Any:
        return conv_nd(window, weight, None, p.stride, 0, p.dilation, p.groups, ndim=ndim)

    def edge(start: int, stride: int, pad: tuple[int, int]) -> int:
        return -(-(start + pad[0]) // stride)

    channels = int(weight.shape[0])
    return blockwise_conv(plan, input, weight, bias, forward_window, edge, local, channels)


class _Plan(NamedTuple):
    """Everything a call needs that follows from its signature alone."""

    xp: Any
    batched: bool
    params: ConvParams
    out_spatial: tuple[int, ...]
    traits: Traits
    #: ``call(input, weight, bias)``: the whole call, see :func:`._plans.planned_call`.
    call: Callable[[Any, Any, Any], Any] = not_yet_planned


def _call(plan: _Plan, input: Any, weight: Any, bias: Any | None) -> Any:
    x = input if plan.batched else input[None, ...]
    y = _conv(plan.xp, x, weight, plan.params, plan.out_spatial, plan.traits)
    if bias is not None:
        y = y + plan.xp.reshape(bias, (1, -1) + (1,) * len(plan.out_spatial))
    return y if plan.batched else y[0, ...]


def _plan(
    input: Any,
    weight: Any,
    bias: Any | None,
    stride: int | Sequence[int],
    padding: Padding,
    dilation: int | Sequence[int],
    groups: int,
    ndim: int,
) -> _Plan:
    """Validate every argument, raising on the first bad one."""
    xp, batched = conv_arrays(input, weight, bias, ndim, "convolution", "C_out, C_in // groups")
    params = validate_conv_params(ndim, tuple(weight.shape[2:]), stride, padding, dilation, groups)
    _check_channels(input.shape[1 if batched else 0], tuple(weight.shape), bias, params.groups)
    spatial = tuple(input.shape[-ndim:])
    out_spatial = conv_output_size(spatial, params)
    if any(n <= 0 for n in out_spatial):
        msg = (
            f"the output would have spatial size {out_spatial}, which is not positive: "
            f"input spatial size {spatial} with padding {params.padding} is smaller than "
            f"the dilated kernel (kernel_size={params.kernel_size}, dilation={params.dilation})"
        )
        raise ValueError(msg)
    out_shape = (*input.shape[:-ndim][:-1], weight.shape[0], *out_spatial)
    check_output_size(
        input,
        out_shape,
        f"the input spatial size {spatial}, kernel_size={params.kernel_size}, "
        f"stride={params.stride}, padding={params.padding}, dilation={params.dilation}",
    )
    known = traits(namespace_name(xp))
    plan = _Plan(xp, batched, params, out_spatial, known)
    backend = of_namespace(xp)
    call = planned_call(functools.partial(_call, plan), backend, known.compiles_eager_calls)
    return plan._replace(call=call)


def _check_channels(
    channels: int, weight_shape: tuple[int, ...], bias: Any | None, groups: int
) -> None:
    out_channels = weight_shape[0]
    if channels == 0 or out_channels == 0:
        # torch refuses no output channels, and for no input channels returns an empty
        # tensor whose channel count contradicts its weight: both are bugs in the model
        msg = (
            f"a convolution needs input and output channels, got {channels} input channels "
            f"and weight of shape {weight_shape} (weight.shape[0] output channels)"
        )
        raise ValueError(msg)
    if out_channels % groups:
        msg = (
            f"out_channels (weight.shape[0] = {out_channels}) must be divisible by "
            f"groups ({groups})"
        )
        raise ValueError(msg)
    if channels != weight_shape[1] * groups:
        msg = (
            f"input has {channels} channels but weight of shape {weight_shape} with "
            f"groups={groups} expects weight.shape[1] * groups = {weight_shape[1] * groups}"
        )
        raise ValueError(msg)
    if bias is not None and tuple(bias.shape) != (out_channels,):
        msg = f"bias must have shape ({out_channels},) (weight.shape[0]), got {tuple(bias.shape)}"
        raise ValueError(msg)


def windows_channels_last(
    p: ConvParams, channels: tuple[int, int], out_spatial: tuple[int, ...], traits: Traits
) -> bool:
    """Whether :func:`_conv_windows` copies its windows channels-last: ungrouped layers
    whose input and output ``channels`` (per group) both outnumber an output row's
    pixels, where the library's traits say pixel-major GEMMs are faster -- except a
    1x1 kernel at stride 1, whose one window channels-first is the input as it lies."""
    reads_input_in_place = math.prod(p.kernel_size) == 1 and all(s == 1 for s in p.stride)
    return (
        p.groups == 1
        and traits.pixel_major_gemms
        and not reads_input_in_place
        and min(channels) > out_spatial[-1]
    )


def products_first(
    channels: tuple[int, int], padded: tuple[int, ...], out_spatial: tuple[int, ...]
) -> bool:
    """Whether :func:`_conv` multiplies first and shifts after (:func:`_conv_products`):
    where each tap's products, ``C_out`` channels over the ``padded`` input, are fewer
    than the windows the im2col GEMM would copy, ``C_in`` channels over the output
    (``channels`` is ``(C_in, C_out)`` per group) -- the layers with few output
    channels that end a decoder."""
    c_in_g, c_out_g = channels
    return c_out_g * math.prod(padded) < c_in_g * math.prod(out_spatial)


def _conv(
    xp: Any,
    x: Any,
    weight: Any,
    p: ConvParams,
    out_spatial: tuple[int, ...],
    traits: Traits = DEFAULT,
) -> Any:
    """The algorithm on validated, batched input; returns ``(N, C_out, *out_spatial)``:
    :func:`_conv_products` where :func:`products_first` says so, else
    :func:`_conv_windows`."""
    g = p.groups
    channels = (x.shape[1] // g, weight.shape[0] // g)
    padded = tuple(n + lo + hi for n, (lo, hi) in zip(x.shape[2:], p.padding))
    if products_first(channels, padded, out_spatial):
        return _conv_products(xp, x, weight, p, out_spatial, traits)
    return _conv_windows(xp, x, weight, p, out_spatial, traits)


def _conv_products(
    xp: Any,
    x: Any,
    weight: Any,
    p: ConvParams,
    out_spatial: tuple[int, ...],
    traits: Traits = DEFAULT,
) -> Any:
    """Every tap's products over the whole padded input in one GEMM per chunk of taps,
    then each tap's strided window of its products added up: the forward convolution
    as a transposed convolution's col2im.  The GEMM forms the same products as
    :func:`_conv_windows` (padding zeros included), summed in another order."""
    n, c_in = x.shape[0], x.shape[1]
    g = p.groups
    c_in_g, c_out_g = c_in // g, weight.shape[0] // g
    taps = math.prod(p.kernel_size)
    # (G, C_in/G, N, *padded): the GEMM's right operand, read in place when N == 1.
    grouped = _grouped_input(xp, x, p, (1, 2, 0), 3, 0)
    padded = tuple(grouped.shape[3:])
    columns = xp.reshape(grouped, (g, c_in_g, n * math.prod(padded)))
    # (G, taps, C_out/G, C_in/G): a chunk of taps is one contiguous GEMM operand.
    kernels = xp.permute_dims(xp.reshape(weight, (g, c_out_g, c_in_g, taps)), (0, 3, 1, 2))
    windows_of_taps = tap_windows(p.kernel_size, p.dilation, p.stride, out_spatial, 3, 0)
    outputs, inputs = n * g * c_out_g * math.prod(out_spatial), n * c_in * math.prod(padded)
    chunk = _taps_per_chunk(c_out_g * g * n * math.prod(padded), outputs, inputs, traits)
    y, owned = None, False
    for start in range(0, taps, chunk):
        stop = min(start + chunk, taps)
        kernel = xp.reshape(kernels[:, start:stop, ...], (g, (stop - start) * c_out_g, c_in_g))
        products = xp.reshape(kernel @ columns, (g, stop - start, c_out_g, n, *padded))
        # One array per tap: autodiff then writes each tap's gradient into a buffer of
        # one tap's size, not of the whole chunk's (BENCHMARKS.md, "products first").
        for t, tap in zip(range(start, stop), xp.unstack(products, axis=1)):
            part = tap[windows_of_taps[t]]
            if y is None:
                y = part  # a view of the products: never written to
            elif owned:
                y += part  # in place where the library can (JAX rebinds `y`)
            else:
                y, owned = y + part, True
    return _batch_major(xp, y, (g, c_out_g, n), out_spatial)


def _grouped_input(
    xp: Any, x: Any, p: ConvParams, order: tuple[int, int, int], lead: int, trail: int
) -> Any:
    """``x`` as ``(N, G, C_in/G, *S)`` with its three non-spatial axes permuted by
    ``order`` (the spatial ones kept together, ``lead`` of them before and ``trail``
    after), zero-padded by ``p.padding``."""
    n, g = x.shape[0], p.groups
    space = tuple(range(3, 3 + p.ndim))
    grouped = xp.reshape(x, (n, g, x.shape[1] // g, *x.shape[2:]))
    grouped = xp.permute_dims(grouped, (*order[:lead], *space, *order[lead:]))
    if any(lo or hi for lo, hi in p.padding):
        widths = [(0, 0)] * lead + list(p.padding) + [(0, 0)] * trail
        grouped = xpx.pad(grouped, widths, xp=xp)
    return grouped


def _taps_per_chunk(per_tap: int, outputs: int, inputs: int, traits: Traits) -> int:
    """How many taps one GEMM takes: their buffer stays near the layer's larger of
    ``inputs`` and ``outputs`` elements.  Below ``traits.min_column_chunk`` elements
    all taps share one GEMM: on small inputs the per-call overhead of extra products
    costs more than the memory they save."""
    return max(1, max(outputs, inputs, traits.min_column_chunk) // max(1, per_tap))


def _batch_major(xp: Any, y: Any, lead: tuple[int, int, int], out_spatial: tuple[int, ...]) -> Any:
    """``y`` of ``lead = (G, C_out/G, N)`` then the output pixels, as ``(N, C_out, *M)``."""
    g, c_out_g, n = lead
    space = tuple(range(3, 3 + len(out_spatial)))
    y = xp.permute_dims(xp.reshape(y, (g, c_out_g, n, *out_spatial)), (2, 0, 1, *space))
    return xp.reshape(y, (n, g * c_out_g, *out_spatial))


def _conv_windows(
    xp: Any,
    x: Any,
    weight: Any,
    p: ConvParams,
    out_spatial: tuple[int, ...],
    traits: Traits = DEFAULT,
) -> Any:
    """Each tap's window of the input copied (im2col) and multiplied in one GEMM per
    chunk of taps.

    Ungrouped convolutions whose input and output channels both outnumber an output
    row's pixels put the pixels in the GEMM's rows (channels-last windows,
    ``windows @ weight``), which NumPy's and PyTorch's BLAS run faster than
    ``weight @ windows`` there (up to 1.7x).  Otherwise the two transposes that layout
    needs, and window copies in runs of a few channels, cost more: channels-first
    windows (runs of an output row) were up to 8x faster on generated layers
    (BENCHMARKS.md, "The forward convolution's window layout").  Grouped ones
    keep channels first, where each group's few channels would make the pixel-major
    GEMMs thin.  So does a 1x1 kernel at stride 1, whose GEMM reads the input in place
    channels-first: channels-last's transposes were up to 3x slower there.  So does JAX,
    with small chunks: on the ``enc-same`` layer that took 5.4 ms under ``jax.jit``,
    against 25 ms channels-last in one chunk.
    """
    n, c_in = x.shape[0], x.shape[1]
    g = p.groups
    c_in_g, c_out_g = c_in // g, weight.shape[0] // g
    pixels = math.prod(out_spatial)
    taps = math.prod(p.kernel_size)
    nd = p.ndim
    channels_last = windows_channels_last(p, (c_in_g, c_out_g), out_spatial, traits)
    # `lead`/`trail`: how many axes come before and after the spatial ones.
    if channels_last:
        # (G, N, *padded, C_in/G): a tap's window is a strided slice, stacked before C.
        lead, trail, tap_axis = 2, 1, -2
        grouped = _grouped_input(xp, x, p, (1, 0, 2), lead, trail)
        kernels = xp.permute_dims(xp.reshape(weight, (g, c_out_g, c_in_g, taps)), (0, 3, 2, 1))
    else:
        # (G, C_in/G, N, *padded): a tap's window is one GEMM operand block.
        lead, trail, tap_axis = 3, 0, 1
        grouped = _grouped_input(xp, x, p, (1, 2, 0), lead, trail)
        kernels = xp.permute_dims(xp.reshape(weight, (g, c_out_g, c_in_g, taps)), (0, 1, 3, 2))
    windows_of_taps = tap_windows(p.kernel_size, p.dilation, p.stride, out_spatial, lead, trail)
    outputs, inputs = n * g * c_out_g * pixels, n * c_in * math.prod(x.shape[2:])
    chunk = _taps_per_chunk(c_in * n * pixels, outputs, inputs, traits)
    y = None
    for start in range(0, taps, chunk):
        stop = min(start + chunk, taps)
        windows = [grouped[windows_of_taps[t]] for t in range(start, stop)]
        columns = windows[0] if len(windows) == 1 else xp.stack(windows, axis=tap_axis)
        depth = (stop - start) * c_in_g
        if channels_last:
            kernel = xp.reshape(kernels[:, start:stop, ...], (g, depth, c_out_g))
            part = xp.reshape(columns, (g, n * pixels, depth)) @ kernel
        else:
            kernel = xp.reshape(kernels[:, :, start:stop, :], (g, c_out_g, depth))
            part = kernel @ xp.reshape(columns, (g, depth, n * pixels))
        y = part if y is None else y + part
    if channels_last:  # (G, N, *M, C_out/G) -> (N, G, C_out/G, *M)
        order = (1, 0, 2 + nd, *range(2, 2 + nd))
        y = xp.permute_dims(xp.reshape(y, (g, n, *out_spatial, c_out_g)), order)
        return xp.reshape(y, (n, g * c_out_g, *out_spatial))
    return _batch_major(xp, y, (g, c_out_g, n), out_spatial)
