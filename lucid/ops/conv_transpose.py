"""Transposed convolution, written once against the Python Array API standard.

This module is the public face: it validates every argument before any array work
(see :mod:`._params` and :mod:`._checks`), remembers the validated plan per call
signature (:mod:`._plans`), then runs one dimension-generic algorithm (1-d, 2-d and
3-d share it), built from GEMMs over the whole batch and dense slices:

* :mod:`._ct_forward` holds the forward *formulations* (a pure reshape when stride
  equals the kernel, sub-pixel phases in two GEMM orientations, phases as sums of
  shifted GEMMs (:mod:`._ct_shift`), a constant placement GEMM for tiny inputs,
  per-tap strided slice adds for very large ones, and the textbook GEMM-then-col2im
  for layers whose column buffer is small) and picks one from the shapes and the
  backend.  None of them needs a scatter-add with repeated indices, which the
  standard lacks.
* :mod:`._ct_backward` computes the gradients as two GEMMs; :mod:`._autodiff` hands
  them to torch's and JAX's autodiff where those exist.

The scatter formulation produces its column buffer a chunk of taps at a time, so
peak extra memory on large inputs stays near the size of the output instead of
``prod(kernel_size)`` times the input.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from .._backend import namespace_name
from .._backends import ArrayBackend, of_namespace
from . import _autotune
from ._autocast import autocast_arrays
from ._autodiff import custom_grad_enabled, with_custom_grad
from ._blockwise import (
    blockwise_conv,
    chunked,
    transposed_window,
)
from ._checks import check_output_size, conv_arrays
from ._ct_backward import conv_transpose_grads, pixel_major_grads
from ._ct_forward import (
    EXACT_ON_NONFINITE,
    OUT_OF_PLACE_STAND_IN,
    candidates,
    choose_formulation,
    exact_formulation,
    forced_formulation,
    forward,
    zero_meeting_operands,
)
from ._nonfinite import checks_output, unless_nonfinite
from ._params import (
    ConvTransposeParams,
    output_padding_for_size,
    spatial_output_size,
    validate_conv_transpose_params,
)
from ._plans import cached_plan, not_yet_planned, planned_call, signature
from ._traits import Traits, out_of_place, traits

__all__ = ["conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "conv_transpose_nd"]


def conv_transpose2d(
    input: Any,
    weight: Any,
    bias: Any | None = None,
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    output_padding: int | tuple[int, int] = 0,
    groups: int = 1,
    dilation: int | tuple[int, int] = 1,
    *,
    output_size: Sequence[int] | None = None,
) -> Any:
    """2-D transposed convolution ("deconvolution") of any Array API array.

    The semantics are those of ``torch.nn.functional.conv_transpose2d``, including
    ``output_size`` as accepted by ``torch.nn.ConvTranspose2d.forward``.

    Parameters
    ----------
    input : array
        ``(N, C_in, H, W)``, or ``(C_in, H, W)`` for one unbatched sample.
    weight : array
        ``(C_in, C_out // groups, KH, KW)``, from the same namespace and of the same dtype.
    bias : array, optional
        ``(C_out,)``.
    stride, padding, output_padding, dilation : int or tuple of two ints
        ``padding`` removes ``padding`` rows/columns from each side of the full result
        (strings such as ``'same'`` are not supported); ``output_padding`` adds rows
        at the high end and must be smaller than ``stride`` or ``dilation``.
    groups : int
        Blocked connections from input to output channels.
    output_size : sequence of int, optional
        The wanted spatial size ``(H_out, W_out)`` (or the full shape). It overrides
        ``output_padding`` and must lie within ``[min, min + stride - 1]`` per dimension.

    Returns
    -------
    array
        ``(N, C_out, H_out, W_out)`` (or unbatched) in the input's namespace, device
        and dtype, where ``H_out = (H - 1)*stride - 2*padding + dilation*(KH - 1)
        + output_padding + 1``.

    Raises
    ------
    TypeError
        Arrays from different libraries, mixed or non-floating dtypes.
    ValueError
        Shapes or hyper-parameters that do not fit; the message says what is allowed.

    Examples
    --------
    >>> import array_api_strict as xp
    >>> from lucid.ops import conv_transpose2d
    >>> x = xp.ones((1, 2, 3, 3))
    >>> w = xp.ones((2, 4, 2, 2))
    >>> y = conv_transpose2d(x, w, stride=2)
    >>> y.shape
    (1, 4, 6, 6)
    >>> float(y[0, 0, 0, 0])
    2.0
    """
    return conv_transpose_nd(
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
        output_size=output_size,
        ndim=2,
    )


def conv_transpose1d(
    input: Any,
    weight: Any,
    bias: Any | None = None,
    stride: int | tuple[int] = 1,
    padding: int | tuple[int] = 0,
    output_padding: int | tuple[int] = 0,
    groups: int = 1,
    dilation: int | tuple[int] = 1,
    *,
    output_size: Sequence[int] | None = None,
) -> Any:
    """1-D transposed convolution: input ``(N, C_in, L)`` or ``(C_in, L)``.

    Semantics of ``torch.nn.functional.conv_transpose1d``; the parameters are those of
    :func:`conv_transpose2d` with one spatial dimension.

    Examples
    --------
    >>> import numpy as np
    >>> from lucid.ops import conv_transpose1d
    >>> conv_transpose1d(np.ones((2, 3, 10)), np.ones((3, 5, 4)), stride=2, padding=1).shape
    (2, 5, 20)
    """
    return conv_transpose_nd(
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
        output_size=output_size,
        ndim=1,
    )


def conv_transpose3d(
    input: Any,
    weight: Any,
    bias: Any | None = None,
    stride: int | tuple[int, int, int] = 1,
    padding: int | tuple[int, int, int] = 0,
    output_padding: int | tuple[int, int, int] = 0,
    groups: int = 1,
    dilation: int | tuple[int, int, int] = 1,
    *,
    output_size: Sequence[int] | None = None,
) -> Any:
    """3-D transposed convolution: input ``(N, C_in, D, H, W)`` or ``(C_in, D, H, W)``.

    Semantics of ``torch.nn.functional.conv_transpose3d``; the parameters are those of
    :func:`conv_transpose2d` with three spatial dimensions.

    Examples
    --------
    >>> import numpy as np
    >>> from lucid.ops import conv_transpose3d
    >>> conv_transpose3d(np.ones((1, 2, 3, 4, 5)), np.ones((2, 6, 2, 2, 2)), stride=2).shape
    (1, 6, 6, 8, 10)
    """
    return conv_transpose_nd(
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
        output_size=output_size,
        ndim=3,
    )


def conv_transpose_nd(
    input: Any,
    weight: Any,
    bias: Any | None = None,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    output_padding: int | Sequence[int] = 0,
    groups: int = 1,
    dilation: int | Sequence[int] = 1,
    *,
    output_size: Sequence[int] | None = None,
    ndim: int,
) -> Any:
    """Transposed convolution over ``ndim`` spatial dimensions; see :func:`conv_transpose2d`."""
    input, weight, bias = autocast_arrays(input, weight, bias)
    args = (stride, padding, output_padding, groups, dilation, output_size, ndim)
    if chunked(input, weight, bias):
        return _chunked(input, weight, bias, args)
    tune = _autotune.autotune_enabled()
    # Every setting the call reads is in the key: on JAX a plan's compiled call keeps
    # the program it first traced for every later call of its signature.
    settings = (
        forced_formulation(),
        "autotune" if tune else None,
        None if custom_grad_enabled() else "autodiff",
    )
    plan = cached_plan(
        signature((input, weight, bias), ("conv_transpose", *args, *settings)),
        lambda: _plan(input, weight, bias, *args, autotune=tune),
    )
    return plan.call(input, weight, bias)


class _Plan(NamedTuple):
    """Everything a call needs that follows from its signature alone."""

    xp: Any
    batched: bool
    params: ConvTransposeParams
    out_spatial: tuple[int, ...]
    formulation: str
    #: What runs instead when the weight is not finite (see :mod:`._nonfinite`).
    exact_formulation: str
    traits: Traits
    backend: ArrayBackend | None
    #: Whether the non-finite check reads the fast output rather than its operands
    #: (whichever is smaller, see :mod:`._nonfinite`).
    checks_output: bool
    #: ``call(input, weight, bias)``: the whole call, see :func:`._plans.planned_call`.
    call: Callable[[Any, Any, Any], Any] = not_yet_planned


def _call(plan: _Plan, input: Any, weight: Any, bias: Any | None) -> Any:
    x = input if plan.batched else input[None, ...]
    y = _conv_transpose(plan, x, weight, bias)
    return y if plan.batched else y[0, ...]


def _plan(
    input: Any,
    weight: Any,
    bias: Any | None,
    stride: int | Sequence[int],
    padding: int | Sequence[int],
    output_padding: int | Sequence[int],
    groups: int,
    dilation: int | Sequence[int],
    output_size: Sequence[int] | None,
    ndim: int,
    autotune: bool = False,
) -> _Plan:
    """Validate every argument (raising on the first bad one) and choose the formulation.

    With ``autotune`` (and no forced formulation), the candidates are timed on these
    inputs, or their compiled twins under ``jax.jit`` (see :mod:`._autotune`).
    """
    xp, batched = conv_arrays(
        input, weight, bias, ndim, "transposed convolution", "C_in, C_out // groups"
    )
    params = validate_conv_transpose_params(
        ndim, tuple(weight.shape[2:]), stride, padding, output_padding, groups, dilation
    )
    channels = input.shape[1 if batched else 0]
    _check_channels(channels, tuple(weight.shape), bias, params.groups)
    spatial = tuple(input.shape[-ndim:])
    if any(n <= 0 for n in spatial):
        msg = f"input must have non-empty spatial dimensions, got shape {tuple(input.shape)}"
        raise ValueError(msg)
    if output_size is not None:
        extra = output_padding_for_size(output_size, spatial, params, batched)
        params = ConvTransposeParams(
            params.kernel_size, params.stride, params.padding, extra, params.dilation, params.groups
        )
    out_spatial = spatial_output_size(spatial, params)
    if any(n <= 0 for n in out_spatial):
        msg = (
            f"the output would have spatial size {out_spatial}, which is not positive; "
            f"input spatial size {spatial} is too small for kernel_size={params.kernel_size}, "
            f"stride={params.stride}, padding={params.padding}, dilation={params.dilation}"
        )
        raise ValueError(msg)
    out_shape = (input.shape[0], weight.shape[1] * params.groups, *out_spatial)
    check_output_size(input, out_shape if batched else out_shape[1:], _describe(spatial, params))
    known = traits(namespace_name(xp))
    batch_shape = (input.shape[0] if batched else 1, channels, *spatial)
    c_out = weight.shape[1] * params.groups
    formulation = choose_formulation(batch_shape, c_out, params, out_spatial, known)
    options = candidates(batch_shape, c_out, params, out_spatial, known)
    if autotune and forced_formulation() is None and len(options) > 1:
        x = input if batched else input[None, ...]
        layer = (batch_shape, c_out, params, out_spatial)
        formulation = _tuned(xp, known, layer, options, (x, weight, bias))
    exact = exact_formulation(batch_shape, c_out, params, out_spatial)
    operands = zero_meeting_operands(formulation, tuple(weight.shape), batch_shape)
    check_output = checks_output(operands, (batch_shape[0], c_out, *out_spatial))
    plan = _Plan(
        xp, batched, params, out_spatial, formulation, exact, known, of_namespace(xp), check_output
    )
    call = planned_call(functools.partial(_call, plan), plan.backend, known.compiles_eager_calls)
    return plan._replace(call=call)


def _tuned(
    xp: Any, known: Traits, layer: tuple[Any, ...], options: list[str], arrays: tuple[Any, ...]
) -> str:
    """The fastest of ``options`` for ``layer``, from the autotune cache or timed now."""
    import array_api_compat

    x = arrays[0]
    _, _, params, out_spatial = layer
    key = _autotune.cache_key(namespace_name(xp), array_api_compat.device(x), x.dtype, layer)

    def run(name: str) -> Any:
        def layer_with(x: Any, weight: Any, bias: Any | None) -> Any:
            return forward(xp, x, weight, bias, params, out_spatial, name, known)

        if known.compiles and _autotune.is_tracer(x):
            return _autotune.compiled_candidate(layer_with, arrays)
        return lambda: layer_with(*arrays)

    return _autotune.tuned_formulation(key, options, run)


def _check_channels(
    channels: int, weight_shape: tuple[int, ...], bias: Any | None, groups: int
) -> None:
    if channels == 0 or weight_shape[1] == 0:
        # torch refuses both; an empty layer is a bug in the model, not a result
        msg = (
            f"a transposed convolution needs input and output channels, got {channels} input "
            f"channels and weight of shape {weight_shape} (weight.shape[1] * groups output "
            f"channels)"
        )
        raise ValueError(msg)
    if channels != weight_shape[0]:
        msg = (
            f"input has {channels} channels but weight of shape {weight_shape} expects "
            f"weight.shape[0] = {weight_shape[0]} input channels"
        )
        raise ValueError(msg)
    if channels % groups:
        msg = f"input channels ({channels}) must be divisible by groups ({groups})"
        raise ValueError(msg)
    out_channels = weight_shape[1] * groups
    if bias is not None and tuple(bias.shape) != (out_channels,):
        msg = (
            f"bias must have shape ({out_channels},) (out_channels = weight.shape[1] * groups), "
            f"got {tuple(bias.shape)}"
        )
        raise ValueError(msg)


def _chunked(input: Any, weight: Any, bias: Any | None, args: tuple[Any, ...]) -> Any:
    """A chunked (Dask) input: the output in blocks, each from its input rows."""
    plan = _plan(input, weight, bias, *args)
    p, ndim = plan.params, args[-1]

    def local(window: Any, weight: Any) -> Any:
        return conv_transpose_nd(
            window, weight, None, p.stride, 0, 0, p.groups, p.dilation, ndim=ndim
        )

    def edge(start: int, stride: int, pad: int) -> int:
        return start * stride

    channels = int(weight.shape[1]) * p.groups
    return blockwise_conv(plan, input, weight, bias, transposed_window, edge, local, channels)


def _describe(spatial: tuple[int, ...], p: ConvTransposeParams) -> str:
    return (
        f"the input spatial size {spatial}, kernel_size={p.kernel_size}, stride={p.stride}, "
        f"padding={p.padding}, output_padding={p.output_padding}, dilation={p.dilation}"
    )


def _conv_transpose(plan: _Plan, x: Any, weight: Any, bias: Any | None) -> Any:
    """The algorithm on validated, batched input; returns ``(N, C_out, *out_spatial)``.

    The formulation was chosen from the shapes (see :mod:`._ct_forward`); on PyTorch
    and JAX the gradients are the two GEMMs of :mod:`._ct_backward` (see
    :mod:`._autodiff`) rather than autodiff through the forward's slices.
    """
    xp, p, out_spatial = plan.xp, plan.params, plan.out_spatial

    def run(x: Any, weight: Any, bias: Any | None) -> Any:
        known, chosen = plan.traits, plan.formulation
        if plan.backend is not None and not plan.backend.writes_in_place(x, weight):
            known = out_of_place(known)
            chosen = OUT_OF_PLACE_STAND_IN.get(chosen, chosen)

        def formulation(name: str) -> Callable[[], Any]:
            return lambda: forward(xp, x, weight, bias, p, out_spatial, name, known)

        if chosen in EXACT_ON_NONFINITE:
            return formulation(chosen)()
        exact = formulation(plan.exact_formulation)
        checked = zero_meeting_operands(chosen, weight, x)
        return unless_nonfinite(
            xp, checked, formulation(chosen), exact, check_output=plan.checks_output
        )

    def grads(x: Any, weight: Any, gy: Any, needs: tuple[bool, bool, bool]) -> Any:
        channels_last = pixel_major_grads(tuple(x.shape), p, plan.traits)
        return conv_transpose_grads(xp, x, weight, gy, p, needs, channels_last)

    if not plan.traits.custom_grad_without_stride and all(s == 1 for s in p.stride):
        # Without a stride XLA differentiates the forward's slices and GEMMs faster than
        # the custom backward (31 ms against 43 ms on the `same` benchmark layer).
        return run(x, weight, bias)
    return with_custom_grad(plan.backend, run, grads, x, weight, bias)
