"""Convolution modules: ``Conv{1,2,3}d``, ``ConvTranspose{1,2,3}d`` and their lazy versions.

Everything lives in two N-d bases and one lazy mixin; each public class is a signature,
a docstring and three class attributes:

* :class:`_ConvNd` -- validation, parameters, torch's initialisation, placement,
  ``reset_parameters``, ``forward`` and ``repr`` of a convolution over ``_ndim`` spatial
  dimensions.  Forward convolutions use it as is: weight ``(C_out, C_in / groups, *k)``.
* :class:`_ConvTransposeNd` -- what a transposed convolution changes: the weight layout
  ``(C_in, C_out / groups, *k)``, ``output_padding`` and ``forward(x, output_size)``.
* :class:`_LazyConvMixin` -- materialisation from the first input or from a state dict,
  for either kind (the kind's weight layout is asked of the eager class).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import array_api_compat

from .. import random as _random
from .._backend import (
    DEFAULT_FLOAT,
    _parse_device,
    backend_of,
    check_backend,
    convert,
    dtype_name,
    fresh_copy,
    from_numpy,
    get_default_backend,
    namespace,
    native_backend_of,
    resolve_device,
    resolve_dtype,
)
from .._typing import Array, DeviceLike, DTypeLike, Size1d, Size2d, Size3d
from ..ops import (
    conv1d,
    conv2d,
    conv3d,
    conv_transpose1d,
    conv_transpose2d,
    conv_transpose3d,
)
from ..ops._params import validate_conv_params, validate_conv_transpose_params
from . import init
from .lazy import LazyModuleMixin, _lock, _pending
from .module import Module, check_input_placement, describe_placement

__all__ = [
    "Conv1d",
    "Conv2d",
    "Conv3d",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "ConvTranspose3d",
    "LazyConv1d",
    "LazyConv2d",
    "LazyConv3d",
    "LazyConvTranspose1d",
    "LazyConvTranspose2d",
    "LazyConvTranspose3d",
]

#: The ``padding_mode`` values lucid implements (torch also has these others).
PADDING_MODES = ("zeros",)
_TORCH_ONLY_PADDING_MODES = ("reflect", "replicate", "circular")

Padding1d = Size1d | str
Padding2d = Size2d | str
Padding3d = Size3d | str


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        msg = f"{name} must be an int, got {type(value).__name__} {value!r}"
        raise TypeError(msg)
    number = operator.index(value)
    if number <= 0:
        msg = f"{name} must be a positive int, got {number}"
        raise ValueError(msg)
    return number


def _check_padding_mode(padding_mode: object) -> str:
    if not (isinstance(padding_mode, str) and padding_mode in PADDING_MODES):
        msg = (
            f"padding_mode={padding_mode!r} is not supported: lucid implements only "
            f"padding_mode='zeros' (torch's {', '.join(map(repr, _TORCH_ONLY_PADDING_MODES))} "
            f"are not available)"
        )
        raise ValueError(msg)
    return padding_mode


class _ConvNd(Module):
    """A (forward) convolution over ``_ndim`` spatial dimensions (see :class:`Conv2d`).

    Subclasses set ``_ndim`` and ``_op`` (the :mod:`lucid.ops` function); transposed
    convolutions override the few methods :class:`_ConvTransposeNd` lists.
    """

    _ndim: ClassVar[int]
    _op: ClassVar[Callable[..., Array]]
    transposed: ClassVar[bool] = False
    #: The two leading weight axes, for messages.
    _weight_axes: ClassVar[tuple[str, str]] = ("out_channels", "in_channels // groups")

    in_channels: int | None
    out_channels: int
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...] | str
    dilation: tuple[int, ...]
    groups: int
    padding_mode: str
    weight: Array
    bias: Array | None

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        *,
        device: DeviceLike = None,
        dtype: DTypeLike = None,
        **options: Any,
    ) -> None:
        super().__init__()
        self._configure(out_channels, kernel_size, **options)
        in_channels = _positive_int(in_channels, "in_channels")
        self._check_in_channels(in_channels)
        self.in_channels = in_channels
        name = native_backend_of(device) or native_backend_of(dtype) or get_default_backend()
        check_backend(name)
        xp = namespace(name)
        native_device = resolve_device(name, device)
        native_dtype = resolve_dtype(xp, dtype)
        if not xp.isdtype(native_dtype, "real floating"):
            msg = f"dtype must be a real floating dtype, got {dtype!r}"
            raise ValueError(msg)
        weight, bias_values = self._initial_values(in_channels)
        self.register_parameter("weight", from_numpy(weight, name, native_device, native_dtype))
        self.register_parameter(
            "bias",
            None if bias_values is None
            else from_numpy(bias_values, name, native_device, native_dtype),
        )  # fmt: skip

    # --- configuration (everything that does not depend on in_channels) ---------------

    def _configure(
        self,
        out_channels: object,
        kernel_size: object,
        stride: object = 1,
        padding: object = 0,
        dilation: object = 1,
        groups: object = 1,
        bias: object = True,
        padding_mode: object = "zeros",
    ) -> None:
        """Validate and store the forward convolution's configuration."""
        params = validate_conv_params(self._ndim, kernel_size, stride, padding, dilation, groups)
        self._store_common(out_channels, params.groups, bias)
        self.padding_mode = _check_padding_mode(padding_mode)
        self.kernel_size = params.kernel_size
        self.stride = params.stride
        # torch keeps 'same'/'valid' as given; numeric padding is symmetric.
        self.padding = (
            padding if isinstance(padding, str) else tuple(lo for lo, _ in params.padding)
        )
        self.dilation = params.dilation

    def _store_common(self, out_channels: object, groups: int, bias: object) -> None:
        out_channels = _positive_int(out_channels, "out_channels")
        if out_channels % groups:
            msg = (
                f"out_channels must be divisible by groups, got out_channels={out_channels} "
                f"and groups={groups}"
            )
            raise ValueError(msg)
        if not isinstance(bias, bool):
            msg = f"bias must be a bool, got {type(bias).__name__} {bias!r}"
            raise TypeError(msg)
        self.out_channels = out_channels
        self.groups = groups
        self._has_bias = bias

    def _check_in_channels(self, in_channels: int) -> None:
        if in_channels % self.groups:
            msg = (
                f"in_channels must be divisible by groups, got in_channels={in_channels} "
                f"and groups={self.groups}"
            )
            raise ValueError(msg)

    # --- the weight's layout ------------------------------------------------------------

    def _weight_shape(self, in_channels: int) -> tuple[int, ...]:
        return (self.out_channels, in_channels // self.groups, *self.kernel_size)

    def _in_channels_of(self, weight_shape: tuple[int, ...]) -> int:
        """The ``in_channels`` a weight of ``weight_shape`` (of the right rank) implies."""
        return int(weight_shape[1]) * self.groups

    def _channel_problem(self, shape: tuple[int, ...]) -> str | None:
        """Why the channel axes of a weight of ``shape`` do not fit (``None``: they do)."""
        name = type(self).__name__
        if shape[0] != self.out_channels:
            return (
                f"weight of shape {shape} does not fit {name}: weight.shape[0] = {shape[0]} "
                f"but out_channels = {self.out_channels}"
            )
        if shape[1] <= 0:
            return (
                f"weight of shape {shape} does not fit {name}: in_channels = weight.shape[1] "
                f"* groups = {shape[1] * self.groups} must be positive"
            )
        return None

    # --- parameters -------------------------------------------------------------------

    def _initial_values(self, in_channels: int) -> tuple[Any, Any]:
        """torch's initial distribution as float64 NumPy arrays: weight, then bias (or None).

        ``kaiming_uniform_(a=sqrt(5))`` for the weight, ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``
        for the bias, with ``fan_in = weight.shape[1] * prod(kernel_size)``.
        """
        shape = self._weight_shape(in_channels)
        bound = init.kaiming_uniform_bound(shape, a=math.sqrt(5))
        weight = _random.uniform(-bound, bound, shape)
        if not self._has_bias:
            return weight, None
        fan_in, _ = init.calculate_fan_in_and_fan_out(shape)
        bias_bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        return weight, _random.uniform(-bias_bound, bias_bound, (self.out_channels,))

    def reset_parameters(self) -> None:
        """Draw new parameters from torch's initial distribution (see the class docstring)."""
        if self.weight is None or self.in_channels is None:
            return
        weight, bias = self._initial_values(self.in_channels)
        self.weight = init._fill(self.weight, weight)
        if bias is not None and self.bias is not None:
            self.bias = init._fill(self.bias, bias)

    # --- computing --------------------------------------------------------------------

    def forward(self, x: Array) -> Array:
        """Convolve ``x`` with the module's weight and add its bias (see the class docstring)."""
        return self._convolve(x)

    def _convolve(self, x: Array) -> Array:
        self._check_input(x)
        return self._apply(x, self.weight, self.bias)

    def _apply(self, x: Array, weight: Array, bias: Array | None) -> Array:
        # The op is resolved on the instance's class, so a lazy module that another
        # thread has just turned into its eager class still finds it.
        op = type(self)._op
        return op(x, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def _check_input(self, x: Array, weight: Array | None = None) -> None:
        """``TypeError`` unless ``x`` is a real floating array placed like the parameters.

        ``weight`` stands in for ``self.weight`` while a lazy module is materialising.
        """
        if backend_of(x) is not None and not array_api_compat.array_namespace(x).isdtype(
            x.dtype, "real floating"
        ):
            msg = (
                f"{type(self).__name__} expects a real floating input (float32 or float64), "
                f"got dtype {x.dtype}; convert the input (lucid.asarray(x, dtype=...))"
            )
            raise TypeError(msg)
        check_input_placement(self, x, self.weight if weight is None else weight)

    def extra_repr(self) -> str:
        """``in_channels, out_channels, kernel_size=..., stride=...`` and non-default options.

        The wording of torch's ``repr``, except that an unmaterialised lazy module
        shows ``None`` (torch: 0) for ``in_channels``.
        """
        n = self._ndim
        text = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}"
        )
        if isinstance(self.padding, str) or self.padding != (0,) * n:
            text += f", padding={self.padding}"
        if self.dilation != (1,) * n:
            text += f", dilation={self.dilation}"
        output_padding = getattr(self, "output_padding", (0,) * n)
        if output_padding != (0,) * n:
            text += f", output_padding={output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if not self._has_bias:
            text += ", bias=False"
        return text


class _ConvTransposeNd(_ConvNd):
    """A transposed convolution over ``_ndim`` spatial dimensions (see ConvTranspose2d)."""

    transposed: ClassVar[bool] = True
    _weight_axes: ClassVar[tuple[str, str]] = ("in_channels", "out_channels // groups")

    padding: tuple[int, ...]
    output_padding: tuple[int, ...]

    def _configure(  # type: ignore[override]
        self,
        out_channels: object,
        kernel_size: object,
        stride: object = 1,
        padding: object = 0,
        output_padding: object = 0,
        groups: object = 1,
        bias: object = True,
        dilation: object = 1,
    ) -> None:
        """Validate and store the transposed convolution's configuration."""
        params = validate_conv_transpose_params(
            self._ndim, kernel_size, stride, padding, output_padding, groups, dilation
        )
        self._store_common(out_channels, params.groups, bias)
        self.padding_mode = "zeros"
        self.kernel_size = params.kernel_size
        self.stride = params.stride
        self.padding = params.padding
        self.output_padding = params.output_padding
        self.dilation = params.dilation

    def _weight_shape(self, in_channels: int) -> tuple[int, ...]:
        return (in_channels, self.out_channels // self.groups, *self.kernel_size)

    def _in_channels_of(self, weight_shape: tuple[int, ...]) -> int:
        return int(weight_shape[0])

    def _channel_problem(self, shape: tuple[int, ...]) -> str | None:
        name = type(self).__name__
        if shape[1] * self.groups != self.out_channels:
            return (
                f"weight of shape {shape} does not fit {name}: weight.shape[1] = {shape[1]} "
                f"but out_channels // groups = {self.out_channels // self.groups} "
                f"(out_channels={self.out_channels}, groups={self.groups})"
            )
        if shape[0] <= 0 or shape[0] % self.groups:
            return (
                f"weight of shape {shape} does not fit {name}: in_channels = weight.shape[0] "
                f"= {shape[0]} must be positive and divisible by groups={self.groups}"
            )
        return None

    def forward(self, x: Array, output_size: Sequence[int] | None = None) -> Array:
        """Apply the transposed convolution to ``x`` (see the class docstring)."""
        return self._convolve(x, output_size)

    def _convolve(self, x: Array, output_size: Sequence[int] | None = None) -> Array:
        self._check_input(x)
        return self._apply(x, self.weight, self.bias, output_size)

    def _apply(
        self,
        x: Array,
        weight: Array,
        bias: Array | None,
        output_size: Sequence[int] | None = None,
    ) -> Array:
        op = type(self)._op
        return op(
            x,
            weight,
            bias,
            self.stride,
            self.padding,
            self.output_padding,
            self.groups,
            self.dilation,
            output_size=output_size,
        )


class _LazyConvMixin(LazyModuleMixin):
    """Lazy behaviour shared by every ``LazyConv*`` and ``LazyConvTranspose*`` class.

    Mixed in before the eager class; the eager class supplies the configuration
    (``_configure``) and the weight layout (``_weight_shape``, ``_in_channels_of``,
    ``_channel_problem``), so one implementation serves both kinds and every rank.
    """

    _ndim: ClassVar[int]
    _parameters: dict[str, Array | None]

    def __init__(
        self,
        out_channels: int,
        kernel_size: int | Sequence[int],
        *,
        device: DeviceLike = None,
        dtype: DTypeLike = None,
        **options: Any,
    ) -> None:
        Module.__init__(self)  # type: ignore[arg-type]
        self._configure(out_channels, kernel_size, **options)  # type: ignore[attr-defined]
        backend = native_backend_of(device) or native_backend_of(dtype)
        if device is not None and backend is not None:
            resolve_device(backend, device)
        elif device is not None:
            _parse_device(device)
        if dtype is not None:
            name = dtype_name(dtype)
            if not name.startswith(("float", "bfloat")):
                msg = f"dtype must be a real floating dtype, got {dtype!r}"
                raise ValueError(msg)
        self.in_channels = None
        self.register_parameter("weight", None)  # type: ignore[attr-defined]
        self.register_parameter("bias", None)  # type: ignore[attr-defined]
        if (backend, device, dtype) != (None, None, None):
            self.__dict__["_lazy_placement"] = (backend, device, dtype)

    # --- materialisation from an input ------------------------------------------------

    def _lazy_placement_for(self, array: Array, *, loading: bool) -> tuple[str, Any, Any]:
        """``(backend, native device, native dtype)`` for parameters made from ``array``."""
        source = backend_of(array)
        kind = "state-dict weight" if loading else "input"
        if source is None:
            msg = (
                f"{type(self).__name__} expects an array of an Array API library as "
                f"{kind}, got {type(array).__module__}.{type(array).__name__}"
            )
            raise TypeError(msg)
        backend, device, dtype = self._lazy_target()
        target = backend or source
        if target != source and not loading:
            msg = (
                f"{type(self).__name__} was placed on backend {target!r} (with .to() or a "
                f"{target} device/dtype) but the input is {describe_placement(array)}; "
                f"convert the input or call .to({source!r}) first"
            )
            raise TypeError(msg)
        xp = namespace(target)
        if dtype is not None:
            native_dtype = resolve_dtype(xp, dtype)
        elif array_api_compat.array_namespace(array).isdtype(array.dtype, "real floating"):
            native_dtype = resolve_dtype(xp, array.dtype) if target != source else array.dtype
        elif loading:
            native_dtype = resolve_dtype(xp, DEFAULT_FLOAT)
        else:
            msg = (
                f"{type(self).__name__} needs a real floating input to infer its parameters' "
                f"dtype, got dtype {array.dtype}; convert the input or pass dtype=..."
            )
            raise TypeError(msg)
        if device is not None:
            native_device = resolve_device(target, device)
        elif target == source:
            native_device = array_api_compat.device(array)
        else:
            native_device = None
        if not loading and (
            (dtype is not None and native_dtype != array.dtype)
            or (
                device is not None
                and native_device != array_api_compat.device(array)
                and array_api_compat.device(array) is not None
            )
        ):
            msg = (
                f"{type(self).__name__} was constructed for device={device!r}, "
                f"dtype={dtype!r} but the input is {describe_placement(array)}; "
                f"convert the input, or move the module with .to(...)"
            )
            raise TypeError(msg)
        return target, native_device, native_dtype

    def _weight_problem(self, shape: tuple[int, ...]) -> str | None:
        """Why a weight of ``shape`` cannot materialise this module (``None``: it can)."""
        n = self._ndim
        name = type(self).__name__
        conv: Any = self
        axes = ", ".join(f"K{i}" for i in range(n)) if n != 2 else "K_H, K_W"
        if len(shape) != n + 2:
            lead = ", ".join(conv._weight_axes)
            return f"weight for {name} must be {n + 2}-D ({lead}, {axes}), got shape {shape}"
        problem: str | None = conv._channel_problem(shape)
        if problem is None and tuple(shape[2:]) != conv.kernel_size:
            problem = (
                f"weight of shape {shape} does not fit {name}: its kernel is "
                f"{tuple(shape[2:])} but kernel_size={conv.kernel_size}"
            )
        return problem

    def _lazy_create(self, x: Array) -> tuple[dict[str, Array | None], dict[str, Any]]:
        n = self._ndim
        conv: Any = self
        name = type(self).__name__
        if backend_of(x) is None:
            msg = f"{name} expects an array, got {type(x).__module__}.{type(x).__name__}"
            raise TypeError(msg)
        if x.ndim not in (n + 1, n + 2):
            msg = (
                f"{name} expects a {n + 2}-D (N, C_in, *spatial) or {n + 1}-D (C_in, *spatial) "
                f"input to infer in_channels, got {x.ndim}-D input of shape {tuple(x.shape)}"
            )
            raise ValueError(msg)
        in_channels = int(x.shape[1 if x.ndim == n + 2 else 0])
        if in_channels <= 0 or in_channels % conv.groups:
            msg = (
                f"{name} infers in_channels = {in_channels} from input of shape "
                f"{tuple(x.shape)}, which must be positive and divisible by groups={conv.groups}"
            )
            raise ValueError(msg)
        backend, device, dtype = self._lazy_placement_for(x, loading=False)
        weight, bias = conv._initial_values(in_channels)
        params = {
            "weight": from_numpy(weight, backend, device, dtype),
            "bias": None if bias is None else from_numpy(bias, backend, device, dtype),
        }
        return params, {"in_channels": in_channels}

    def forward(self, x: Array, *args: Any, **kwargs: Any) -> Array:
        """Materialise from ``x`` on the first call, then convolve as the eager class does.

        The first call computes with the new parameters *before* installing them, so
        an input the convolution rejects (say, too small for the kernel) leaves the
        module unmaterialised.
        """
        first: list[Array] = []

        def first_output(params: dict[str, Array | None]) -> None:
            weight, bias = params["weight"], params["bias"]
            self._check_input(x, weight)  # type: ignore[attr-defined]
            first.append(self._apply(x, weight, bias, *args, **kwargs))  # type: ignore[attr-defined]

        self.materialize(x, first_output)
        if first:
            return first[0]
        return self._convolve(x, *args, **kwargs)  # type: ignore[attr-defined]

    # --- materialisation from a state dict --------------------------------------------

    def _load_plan(
        self,
        state_dict: Mapping[str, Any],
        prefix: str,
        plan: list[Callable[[], None]],
        errors: list[str],
    ) -> list[str]:
        if not self.has_uninitialized_params():
            return super()._load_plan(state_dict, prefix, plan, errors)  # type: ignore[misc]
        conv: Any = self
        wkey, bkey = f"{prefix}weight", f"{prefix}bias"
        expected = [wkey, bkey] if conv._has_bias else [wkey]
        if wkey not in state_dict:
            if conv._has_bias and bkey in state_dict:
                errors.append(
                    f'cannot load "{bkey}" into the unmaterialized {type(self).__name__} '
                    f'without "{wkey}": the weight\'s shape fixes in_channels'
                )
            return expected
        weight = state_dict[wkey]
        if backend_of(weight) is None:
            errors.append(
                f'While copying the parameter named "{wkey}", expected an array from '
                f"checkpoint but received {type(weight).__name__}"
            )
            return expected
        problem = self._weight_problem(tuple(weight.shape))
        if problem is not None:
            errors.append(f"cannot materialize {wkey!r}: {problem}")
            return expected
        bias = state_dict.get(bkey) if conv._has_bias else None
        if bias is not None:
            if backend_of(bias) is None:
                errors.append(
                    f'While copying the parameter named "{bkey}", expected an array from '
                    f"checkpoint but received {type(bias).__name__}"
                )
                return expected
            if tuple(bias.shape) != (conv.out_channels,):
                errors.append(
                    f"size mismatch for {bkey}: copying a param with shape "
                    f"{tuple(bias.shape)} from checkpoint, the shape in current model is "
                    f"({conv.out_channels},)."
                )
                return expected
        try:
            backend, device, dtype = self._lazy_placement_for(weight, loading=True)
            new_weight = _copied(weight, backend, device, dtype)
            new_bias = None if bias is None else _copied(bias, backend, device, dtype)
        except (TypeError, ValueError) as error:
            errors.append(f"cannot materialize {wkey!r}: {error}")
            return expected
        in_channels = conv._in_channels_of(tuple(weight.shape))

        def materialize() -> None:
            with _lock:
                values = {"weight": new_weight, "bias": new_bias}
                if conv._has_bias and new_bias is None:
                    _, fresh = conv._initial_values(in_channels)
                    values["bias"] = from_numpy(fresh, backend, device, dtype)
                if _pending(self, ("weight",)):
                    self._lazy_commit(values, {"in_channels": in_channels})
                else:  # another thread got there first: load as into an eager module
                    conv.weight, conv.bias = values["weight"], values["bias"]

        plan.append(materialize)
        return expected


#: The name the lazy transposed convolutions were first built on (one mixin serves all).
_LazyConvTransposeMixin = _LazyConvMixin


def _copied(value: Array, backend: str, device: Any, dtype: Any) -> Array:
    """``value`` converted, never aliasing the caller's (mutable) array."""
    new = convert(value, backend, device, dtype)
    return fresh_copy(new) if new is value else new


# --- the public classes --------------------------------------------------------------


class Conv2d(_ConvNd):
    """2-D convolution over ``(N, C_in, H, W)`` or ``(C_in, H, W)`` inputs.

    The module of ``torch.nn.Conv2d`` on any Array API backend: the same signature,
    state-dict keys, repr and initial distribution.  The parameters are created on the
    default backend (see :func:`lucid.set_default_backend`) and move with
    :meth:`~lucid.nn.Module.to`; ``forward`` calls :func:`lucid.ops.conv2d`.

    Parameters
    ----------
    in_channels : int
        Channels of the input; must be divisible by ``groups``.
    out_channels : int
        Channels of the output; must be divisible by ``groups``.
    kernel_size : int or tuple of int
        Size of the kernel.
    stride : int or tuple of int
        Stride of the convolution. Default: 1.
    padding : int, tuple of int, ``'valid'`` or ``'same'``
        Zeros added on both sides.  ``'valid'`` adds none; ``'same'`` keeps the spatial
        size (an odd total goes to the high side, as in torch) and needs ``stride=1``:
        ``'same'`` with a larger stride is a ``ValueError`` at construction. Default: 0.
    dilation : int or tuple of int
        Spacing between kernel elements. Default: 1.
    groups : int
        Blocked connections from input to output channels. Default: 1.
    bias : bool
        Add a learnable bias. Default: True.
    padding_mode : str
        Only ``'zeros'`` is supported; torch's ``'reflect'``, ``'replicate'`` and
        ``'circular'`` (and anything else) raise a ``ValueError``. Default: ``'zeros'``.
    device : DeviceLike
        Where the parameters live; a ``torch.device`` or ``jax.Device`` also selects
        that backend. Default: None (the default backend's default device).
    dtype : DTypeLike
        Floating dtype of the parameters. Default: None (``float32``).

    Attributes
    ----------
    weight : array
        ``(out_channels, in_channels // groups, *kernel_size)``, initialised from
        ``U(-b, b)`` with ``b = 1 / sqrt(fan_in)``, ``fan_in = in_channels / groups *
        prod(kernel_size)`` (torch's kaiming-uniform with ``a = sqrt(5)``).
    bias : array or None
        ``(out_channels,)``, from ``U(-b, b)`` with the same ``b``.

    Notes
    -----
    Output: ``(N, C_out, H_out, W_out)`` with ``H_out = (H + 2*padding - dilation*(KH - 1)
    - 1) // stride + 1``.  A :class:`ConvTranspose2d` with the same ``kernel_size``,
    ``stride`` and ``padding`` maps ``H_out`` back to ``H`` when ``H + 2*padding -
    dilation*(KH - 1) - 1`` is a multiple of ``stride``, and to any ``H`` with
    ``output_size=``.

    Examples
    --------
    >>> import lucid
    >>> import lucid.nn as nn
    >>> lucid.manual_seed(0)
    >>> down = nn.Conv2d(3, 16, kernel_size=4, stride=2, padding=1)
    >>> down
    Conv2d(3, 16, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1))
    >>> down.weight.shape
    (16, 3, 4, 4)
    >>> down(lucid.zeros(2, 3, 32, 32)).shape
    (2, 16, 16, 16)
    >>> nn.Conv2d(3, 8, 4, padding="same", bias=False)(lucid.zeros(1, 3, 7, 5)).shape
    (1, 8, 7, 5)
    """

    _ndim = 2
    _op = staticmethod(conv2d)

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Size2d,
        stride: Size2d = 1,
        padding: Padding2d = 0,
        dilation: Size2d = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: DeviceLike = None,
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(
            in_channels, out_channels, kernel_size, stride=stride, padding=padding,
            dilation=dilation, groups=groups, bias=bias, padding_mode=padding_mode,
            device=device, dtype=dtype,
        )  # fmt: skip


class Conv1d(_ConvNd):
    """1-D convolution over ``(N, C_in, L)`` or ``(C_in, L)`` inputs.

    ``torch.nn.Conv1d`` on any backend; the parameters are those of :class:`Conv2d`
    with one spatial dimension (``padding_mode`` must be ``'zeros'``).

    Examples
    --------
    >>> import lucid
    >>> import lucid.nn as nn
    >>> m = nn.Conv1d(2, 4, 5, stride=2, padding=2)
    >>> m
    Conv1d(2, 4, kernel_size=(5,), stride=(2,), padding=(2,))
    >>> m(lucid.zeros(3, 2, 16)).shape
    (3, 4, 8)
    """

    _ndim = 1
    _op = staticmethod(conv1d)

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Size1d,
        stride: Size1d = 1,
        padding: Padding1d = 0,
        dilation: Size1d = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: DeviceLike = None,
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(
            in_channels, out_channels, kernel_size, stride=stride, padding=padding,
            dilation=dilation, groups=groups, bias=bias, padding_mode=padding_mode,
            device=device, dtype=dtype,
        )  # fmt: skip


class Conv3d(_ConvNd):
    """3-D convolution over ``(N, C_in, D, H, W)`` or ``(C_in, D, H, W)`` inputs.

    ``torch.nn.Conv3d`` on any backend; the parameters are those of :class:`Conv2d`
    with three spatial dimensions (``padding_mode`` must be ``'zeros'``).

    Examples
    --------
    >>> import lucid
    >>> import lucid.nn as nn
    >>> m = nn.Conv3d(2, 4, (1, 3, 3), padding=(0, 1, 1))
    >>> m.weight.shape
    (4, 2, 1, 3, 3)
    >>> m(lucid.zeros(1, 2, 5, 6, 7)).shape
    (1, 4, 5, 6, 7)
    """

    _ndim = 3
    _op = staticmethod(conv3d)

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Size3d,
        stride: Size3d = 1,
        padding: Padding3d = 0,
        dilation: Size3d = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: DeviceLike = None,
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(
            in_channels, out_channels, kernel_size, stride=stride, padding=padding,
            dilation=dilation, groups=groups, bias=bias, padding_mode=padding_mode,
            device=device, dtype=dtype,
        )  # fmt: skip


class LazyConv2d(_LazyConvMixin, Conv2d):  # type: ignore[misc]
    """A Conv2d that infers ``in_channels`` from the first input.

    Weight allocation is deferred until the first forward call (or a state-dict load),
    so encoders can be stacked without tracking the channel dimension by hand.

    Parameters
    ----------
    out_channels : int
        Channels of the output; must be divisible by ``groups``.
    kernel_size, stride, padding, dilation, groups, bias, padding_mode
        As for :class:`Conv2d` (``padding_mode`` must be ``'zeros'``; ``padding='same'``
        with ``stride > 1`` is a ``ValueError`` at construction, unlike torch).
    device : DeviceLike
        Default: None (the input's device).
    dtype : DTypeLike
        Default: None (the input's floating dtype).

    Attributes
    ----------
    weight : Parameter or None
        ``None`` before materialization; ``(out_channels, in_channels // groups, K_H, K_W)``
        afterwards, from torch's initial distribution.
    bias : Parameter or None
        ``None`` before materialization; ``(out_channels,)`` if ``bias=True``.
    in_channels : int or None
        ``None`` before materialization; ``input.shape[1]`` (``input.shape[0]`` unbatched),
        or ``weight.shape[1] * groups`` after a state-dict load.

    Notes
    -----
    The parameters are created in the input's namespace, on its device and with its
    floating dtype, unless ``device``/``dtype`` were given or the module was moved with
    ``.to(...)``; afterwards the module *is* a :class:`Conv2d`.  A 4-D ``weight`` in a
    state dict materializes the module before the copy; a load that fails leaves it
    unmaterialized.

    Symmetric encoder-decoder pairs.  Pair each LazyConv2d encoder stride with a
    LazyConvTranspose2d of matching kernel_size, stride, and padding to reconstruct
    exact spatial dimensions (for odd sizes, pass ``output_size=``).

    Examples
    --------
    >>> import lucid
    >>> import lucid.nn as nn
    >>> encoder = nn.LazyConv2d(out_channels=32, kernel_size=4, stride=2, padding=1)
    >>> encoder
    LazyConv2d(None, 32, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1))
    >>> encoder(lucid.zeros(4, 3, 64, 48)).shape
    (4, 32, 32, 24)
    >>> encoder.in_channels, encoder.weight.shape
    (3, (32, 3, 4, 4))
    >>> type(encoder).__name__
    'Conv2d'
    """

    cls_to_become = Conv2d

    def __init__(
        self,
        out_channels: int,
        kernel_size: Size2d,
        stride: Size2d = 1,
        padding: Padding2d = 0,
        dilation: Size2d = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: DeviceLike = None,
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(
            out_channels, kernel_size, stride=stride, padding=padding, dilation=dilation,
            groups=groups, bias=bias, padding_mode=padding_mode, device=device, dtype=dtype,
        )  # fmt: skip


class LazyConv1d(_LazyConvMixin, Conv1d):  # type: ignore[misc]
    """A Conv1d that infers ``in_channels`` from the first input (see :class:`LazyConv2d`).

    Examples
    --------
    >>> import lucid
    >>> import lucid.nn as nn
    >>> m = nn.LazyConv1d(8, 3, padding="same")
    >>> m(lucid.zeros(2, 5, 10)).shape, m.in_channels
    ((2, 8, 10), 5)
    """

    cls_to_become = Conv1d

    def __init__(
        self,
        out_channels: int,
        kernel_size: Size1d,
        stride: Size1d = 1,
        padding: Padding1d = 0,
        dilation: Size1d = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: DeviceLike = None,
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(
            out_channels, kernel_size, stride=stride, padding=padding, dilation=dilation,
            groups=groups, bias=bias, padding_mode=padding_mode, device=device, dtype=dtype,
        )  # fmt: skip


class LazyConv3d(_LazyConvMixin, Conv3d):  # type: ignore[misc]
    """A Conv3d that infers ``in_channels`` from the first input (see :class:`LazyConv2d`).

    Examples
    --------
    >>> import lucid
    >>> import lucid.nn as nn
    >>> m = nn.LazyConv3d(4, 2, stride=2)
    >>> m(lucid.zeros(1, 3, 4, 4, 4)).shape, m.in_channels
    ((1, 4, 2, 2, 2), 3)
    """

    cls_to_become = Conv3d

    def __init__(
        self,
        out_channels: int,
        kernel_size: Size3d,
        stride: Size3d = 1,
        padding: Padding3d = 0,
        dilation: Size3d = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: DeviceLike = None,
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(
            out_channels, kernel_size, stride=stride, padding=padding, dilation=dilation,
            groups=groups, bias=bias, padding_mode=padding_mode, device=device, dtype=dtype,
        )  # fmt: skip


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution over ``(N, C_in, H, W)`` or ``(C_in, H, W)`` inputs.

    The module of ``torch.nn.ConvTranspose2d`` on any Array API backend: the same
    signature, state-dict keys, repr and initial distribution.  The parameters are
    created on the default backend (see :func:`lucid.set_default_backend`) and move
    with :meth:`~lucid.nn.Module.to`; ``forward`` calls :func:`lucid.ops.conv_transpose2d`.

    Parameters
    ----------
    in_channels : int
        Channels of the input.
    out_channels : int
        Channels of the output; must be divisible by ``groups``.
    kernel_size : int or tuple of int
        Size of the kernel.
    stride : int or tuple of int
        Stride of the (forward) convolution this transposes. Default: 1.
    padding : int or tuple of int
        ``dilation * (kernel_size - 1) - padding`` zero-padding is applied on each side;
        string padding is not supported. Default: 0.
    output_padding : int or tuple of int
        Extra size added to one side of the output; smaller than ``stride`` or
        ``dilation``. Default: 0.
    groups : int
        Blocked connections from input to output channels. Default: 1.
    bias : bool
        Add a learnable bias. Default: True.
    dilation : int or tuple of int
        Spacing between kernel elements. Default: 1.
    device : DeviceLike
        Where the parameters live; a ``torch.device`` or ``jax.Device`` also selects
        that backend. Default: None (the default backend's default device).
    dtype : DTypeLike
        Floating dtype of the parameters. Default: None (``float32``).

    Attributes
    ----------
    weight : array
        ``(in_channels, out_channels // groups, *kernel_size)``, initialised from
        ``U(-b, b)`` with ``b = 1 / sqrt(fan_in)``, ``fan_in = out_channels / groups *
        prod(kernel_size)`` (torch's kaiming-uniform with ``a = sqrt(5)``).
    bias : array or None
        ``(out_channels,)``, from ``U(-b, b)`` with the same ``b``.

    Examples
    --------
    >>> import lucid
    >>> import lucid.nn as nn
    >>> lucid.manual_seed(0)
    >>> up = nn.ConvTranspose2d(16, 8, kernel_size=4, stride=2, padding=1)
    >>> up
    ConvTranspose2d(16, 8, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1))
    >>> up.weight.shape
    (16, 8, 4, 4)
    >>> up(lucid.zeros(2, 16, 5, 5)).shape
    (2, 8, 10, 10)
    >>> up(lucid.zeros(2, 16, 5, 5), output_size=(11, 11)).shape
    (2, 8, 11, 11)
    """

    _ndim = 2
    _op = staticmethod(conv_transpose2d)

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Size2d,
        stride: Size2d = 1,
        padding: Size2d = 0,
        output_padding: Size2d = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Size2d = 1,
        device: DeviceLike = None,
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(
            in_channels, out_channels, kernel_size, stride=stride, padding=padding,
            output_padding=output_padding, groups=groups, bias=bias, dilation=dilation,
            device=device, dtype=dtype,
        )  # fmt: skip


class LazyConvTranspose2d(_LazyConvMixin, ConvTranspose2d):  # type: ignore[misc]
    """A ConvTranspose2d that infers in_channels from the first input.

    Lazy version of the 2D transposed convolution.  Weight allocation is deferred
    until the first forward call, making it easy to compose upsampling decoder
    networks without manually tracking the channel dimension through each block.

    Parameters
    ----------
    out_channels : int
        Channels of the output; must be divisible by ``groups``.
    kernel_size : int or tuple[int, int]
        Size of the kernel.
    stride : int or tuple[int, int]
        Default: 1.
    padding : int or tuple[int, int]
        ``dilation * (kernel_size - 1) - padding`` zero-padding applied on each side.
        String padding is not supported. Default: 0.
    output_padding : int or tuple[int, int]
        Default: 0.
    groups : int
        Default: 1.
    bias : bool
        If ``True``, a learnable bias is added after materialization. Default: True.
    dilation : int or tuple[int, int]
        Default: 1.
    device : DeviceLike
        Default: None (the input's device).
    dtype : DTypeLike
        Default: None (the input's floating dtype).

    Attributes
    ----------
    weight : Parameter or None
        ``None`` before materialization; shape
        ``(in_channels, out_channels // groups, K_H, K_W)`` afterwards.
    bias : Parameter or None
        ``None`` before materialization; ``(out_channels,)`` if ``bias=True``.
    in_channels : int or None
        ``None`` before the first forward pass.

    Notes
    -----
    Input: ``(N, C_in, H_in, W_in)`` or ``(C_in, H_in, W_in)`` -- ``C_in`` is inferred
    automatically.  Output: ``(N, C_out, H_out, W_out)`` with the same formula as
    ConvTranspose2d.  The parameters are created in the input's namespace, on its
    device and with its floating dtype, unless ``device``/``dtype`` were given or the
    module was moved with ``.to(...)``; afterwards the module *is* a ``ConvTranspose2d``.

    State-dict loading.  A 4-D weight tensor (shape
    ``(in_channels, out_channels // groups, K_H, K_W)``) triggers materialization
    before parameter copying, and sets ``in_channels``.  A load that fails leaves the
    module unmaterialized.

    Symmetric encoder-decoder pairs.  Pair each LazyConv2d encoder stride with a
    LazyConvTranspose2d of matching kernel_size, stride, and padding to reconstruct
    exact spatial dimensions.

    Examples
    --------
    Lazy VAE decoder:

    >>> import lucid
    >>> import lucid.nn as nn
    >>> decoder = nn.LazyConvTranspose2d(
    ...     out_channels=64, kernel_size=4, stride=2, padding=1
    ... )
    >>> z = lucid.zeros(4, 128, 8, 8) # in_channels=128 inferred
    >>> y = decoder(z)
    >>> y.shape
    (4, 64, 16, 16)

    Verify inference:

    >>> import lucid
    >>> import lucid.nn as nn
    >>> lazy = nn.LazyConvTranspose2d(out_channels=32, kernel_size=3)
    >>> _ = lazy(lucid.zeros(1, 64, 4, 4))
    >>> print(lazy.in_channels)
    64
    """

    cls_to_become = ConvTranspose2d

    def __init__(
        self,
        out_channels: int,
        kernel_size: Size2d,
        stride: Size2d = 1,
        padding: Size2d = 0,
        output_padding: Size2d = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Size2d = 1,
        device: DeviceLike = None,
        dtype: DTypeLike = None,
    ) -> None:
        """Initialise the LazyConvTranspose2d module.

        See the class docstring for parameter semantics.
        """
        super().__init__(
            out_channels, kernel_size, stride=stride, padding=padding,
            output_padding=output_padding, groups=groups, bias=bias, dilation=dilation,
            device=device, dtype=dtype,
        )  # fmt: skip

    def forward(self, x: Array, output_size: Sequence[int] | None = None) -> Array:
        """Apply the convolution to the input tensor.

        Parameters
        ----------
        x : array
            ``(N, C_in, H, W)`` or ``(C_in, H, W)``; the first call infers ``in_channels``.
        output_size : sequence of int, optional
            The wanted ``(H_out, W_out)``, as for ``ConvTranspose2d``.

        Returns
        -------
        array
            Output tensor with spatial dimensions determined by stride, padding,
            dilation, and kernel size.
        """
        return _LazyConvMixin.forward(self, x, output_size)

    def extra_repr(self) -> str:
        """Return a string representation of the layer's configuration."""
        return ConvTranspose2d.extra_repr(self)


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution over ``(N, C_in, L)`` or ``(C_in, L)`` inputs.

    ``torch.nn.ConvTranspose1d`` on any backend; see :class:`ConvTranspose2d`.

    Examples
    --------
    >>> import lucid
    >>> import lucid.nn as nn
    >>> nn.ConvTranspose1d(3, 5, 4, stride=2)(lucid.zeros(2, 3, 10)).shape
    (2, 5, 22)
    """

    _ndim = 1
    _op = staticmethod(conv_transpose1d)

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Size1d,
        stride: Size1d = 1,
        padding: Size1d = 0,
        output_padding: Size1d = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Size1d = 1,
        device: DeviceLike = None,
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(
            in_channels, out_channels, kernel_size, stride=stride, padding=padding,
            output_padding=output_padding, groups=groups, bias=bias, dilation=dilation,
            device=device, dtype=dtype,
        )  # fmt: skip


class ConvTranspose3d(_ConvTransposeNd):
    """3-D transposed convolution over ``(N, C_in, D, H, W)`` or ``(C_in, D, H, W)`` inputs.

    ``torch.nn.ConvTranspose3d`` on any backend; see :class:`ConvTranspose2d`.

    Examples
    --------
    >>> import lucid
    >>> import lucid.nn as nn
    >>> nn.ConvTranspose3d(2, 4, 2, stride=2)(lucid.zeros(1, 2, 3, 3, 3)).shape
    (1, 4, 6, 6, 6)
    """

    _ndim = 3
    _op = staticmethod(conv_transpose3d)

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Size3d,
        stride: Size3d = 1,
        padding: Size3d = 0,
        output_padding: Size3d = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Size3d = 1,
        device: DeviceLike = None,
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(
            in_channels, out_channels, kernel_size, stride=stride, padding=padding,
            output_padding=output_padding, groups=groups, bias=bias, dilation=dilation,
            device=device, dtype=dtype,
        )  # fmt: skip


class LazyConvTranspose1d(_LazyConvMixin, ConvTranspose1d):  # type: ignore[misc]
    """A ConvTranspose1d that infers in_channels from the first input (see LazyConvTranspose2d).

    Examples
    --------
    >>> import lucid
    >>> import lucid.nn as nn
    >>> m = nn.LazyConvTranspose1d(4, 3)
    >>> m(lucid.zeros(2, 6, 5)).shape, m.in_channels
    ((2, 4, 7), 6)
    """

    cls_to_become = ConvTranspose1d

    def __init__(
        self,
        out_channels: int,
        kernel_size: Size1d,
        stride: Size1d = 1,
        padding: Size1d = 0,
        output_padding: Size1d = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Size1d = 1,
        device: DeviceLike = None,
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(
            out_channels, kernel_size, stride=stride, padding=padding,
            output_padding=output_padding, groups=groups, bias=bias, dilation=dilation,
            device=device, dtype=dtype,
        )  # fmt: skip


class LazyConvTranspose3d(_LazyConvMixin, ConvTranspose3d):  # type: ignore[misc]
    """A ConvTranspose3d that infers in_channels from the first input (see LazyConvTranspose2d).

    Examples
    --------
    >>> import lucid
    >>> import lucid.nn as nn
    >>> m = nn.LazyConvTranspose3d(4, 2, stride=2)
    >>> m(lucid.zeros(1, 3, 2, 2, 2)).shape, m.in_channels
    ((1, 4, 4, 4, 4), 3)
    """

    cls_to_become = ConvTranspose3d

    def __init__(
        self,
        out_channels: int,
        kernel_size: Size3d,
        stride: Size3d = 1,
        padding: Size3d = 0,
        output_padding: Size3d = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Size3d = 1,
        device: DeviceLike = None,
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(
            out_channels, kernel_size, stride=stride, padding=padding,
            output_padding=output_padding, groups=groups, bias=bias, dilation=dilation,
            device=device, dtype=dtype,
        )  # fmt: skip
