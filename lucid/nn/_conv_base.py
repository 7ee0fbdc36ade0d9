"""The machinery behind every convolution module: two N-d bases and one lazy mixin.

* :class:`_ConvNd` -- validation, parameters, torch's initialisation, placement,
  ``reset_parameters``, ``forward`` and ``repr`` of a convolution over ``_ndim`` spatial
  dimensions.  Forward convolutions use it as is: weight ``(C_out, C_in / groups, *k)``.
* :class:`_ConvTransposeNd` -- what a transposed convolution changes: the weight layout
  ``(C_in, C_out / groups, *k)``, ``output_padding`` and ``forward(x, output_size)``.
* :class:`_LazyConvMixin` -- materialisation from the first input or from a state dict,
  for either kind (the kind's weight layout is asked of the eager class).

The public classes in :mod:`lucid.nn.conv` are a rank, an op and a docstring each; their
signatures (``inspect.signature``) are made here from ``_PARAMETERS`` and the rank.
"""

from __future__ import annotations

import inspect
import math
import operator
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import array_api_compat

from .. import random as _random
from .._backends import (
    DEFAULT_FLOAT,
    backend_of,
    check_backend,
    copied,
    dtype_name,
    from_numpy,
    get_default_backend,
    namespace,
    native_backend_of,
    of,
    parse_device,
    resolve_device,
    resolve_dtype,
)
from .._typing import Array, Shown
from ..ops._checks import floating_dtype_names
from ..ops._params import validate_conv_params, validate_conv_transpose_params
from . import init
from ._placement import check_input_placement, describe_placement
from ._state import LoadPlan, size_mismatch
from ._state_values import value_problem
from .lazy import LazyModuleMixin, _lock, _pending
from .module import Module

#: The ``padding_mode`` values lucid implements (torch also has these others).
PADDING_MODES = ("zeros",)
_TORCH_ONLY_PADDING_MODES = ("reflect", "replicate", "circular")


_REQUIRED = inspect.Parameter.empty


def _signature(cls: type) -> inspect.Signature:
    """The constructor signature of a rank class, annotated as the documentation writes it."""
    n: int = cls._ndim  # type: ignore[attr-defined]
    shown: dict[str, Any] = {"int": int, "bool": bool, "str": str}
    shown |= {kind: Shown(f"_{kind}{n}d") for kind in ("Size", "Padding")}
    shown |= {kind: Shown(kind) for kind in ("DeviceLike", "DTypeLike")}
    entries = list(cls._PARAMETERS)  # type: ignore[attr-defined]
    if cls._takes_in_channels:  # type: ignore[attr-defined]
        entries.insert(0, ("in_channels", "int", _REQUIRED))
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    return inspect.Signature(
        [inspect.Parameter(name, kind, default=d, annotation=shown[a]) for name, a, d in entries]
    )


def _bind(module: object, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The constructor's arguments by name, defaults filled in (Python's ``TypeError`` else)."""
    signature: inspect.Signature = type(module).__signature__  # type: ignore[attr-defined]
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as error:
        msg = f"{type(module).__name__}.__init__() {error}"
        raise TypeError(msg) from None
    bound.apply_defaults()
    return dict(bound.arguments)


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

    #: The constructor's parameters after ``in_channels``, in torch's order:
    #: ``(name, annotation kind, default)`` (see :func:`_signature`).
    _PARAMETERS: ClassVar[tuple[tuple[str, str, Any], ...]] = (
        ("out_channels", "int", _REQUIRED),
        ("kernel_size", "Size", _REQUIRED),
        ("stride", "Size", 1),
        ("padding", "Padding", 0),
        ("dilation", "Size", 1),
        ("groups", "int", 1),
        ("bias", "bool", True),
        ("padding_mode", "str", "zeros"),
        ("device", "DeviceLike", None),
        ("dtype", "DTypeLike", None),
    )
    #: Whether the constructor takes ``in_channels`` first (lazy modules do not).
    _takes_in_channels: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if hasattr(cls, "_ndim"):
            cls.__signature__ = _signature(cls)  # type: ignore[attr-defined]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Initialise the module; see the class docstring for parameter semantics."""
        values = _bind(self, args, kwargs)
        super().__init__()
        in_channels, device, dtype = (values.pop(k) for k in ("in_channels", "device", "dtype"))
        self._configure(**values)
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
        xp = array_api_compat.array_namespace(x) if backend_of(x) is not None else None
        if xp is not None and not xp.isdtype(x.dtype, "real floating"):
            msg = (
                f"{type(self).__name__} expects a real floating input "
                f"({floating_dtype_names(xp)}), got dtype {x.dtype}; convert the input "
                "(lucid.asarray(x, dtype=...))"
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
    _PARAMETERS = (
        ("out_channels", "int", _REQUIRED),
        ("kernel_size", "Size", _REQUIRED),
        ("stride", "Size", 1),
        ("padding", "Size", 0),
        ("output_padding", "Size", 0),
        ("groups", "int", 1),
        ("bias", "bool", True),
        ("dilation", "Size", 1),
        ("device", "DeviceLike", None),
        ("dtype", "DTypeLike", None),
    )

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

    _takes_in_channels: ClassVar[bool] = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Initialise the module; see the class docstring for parameter semantics."""
        values = _bind(self, args, kwargs)
        Module.__init__(self)  # type: ignore[arg-type]
        device, dtype = values.pop("device"), values.pop("dtype")
        self._configure(**values)  # type: ignore[attr-defined]
        backend = native_backend_of(device) or native_backend_of(dtype)
        if device is not None and backend is not None:
            resolve_device(backend, device)
        elif device is not None:
            parse_device(device)
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
        # From a Dask input, the parameters are made in NumPy, the library of its blocks.
        source = _blocks_of(array) or source
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
            native_device = _replicated(array)
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

    def _load_plan(self, plan: LoadPlan, prefix: str) -> None:
        if self.has_uninitialized_params():
            self._materialize_plan(plan, prefix)
        # Entries that are not pending (buffers, say) load as into an eager module.
        super()._load_plan(plan, prefix)  # type: ignore[misc]

    def _materialize_plan(self, plan: LoadPlan, prefix: str) -> None:
        """Plan materialising from the state dict's ``weight`` (and ``bias``)."""
        conv: Any = self
        state_dict = plan.state_dict
        wkey, bkey = f"{prefix}weight", f"{prefix}bias"
        plan.expected += [wkey, bkey] if conv._has_bias else [wkey]
        if wkey not in state_dict:
            if conv._has_bias and bkey in state_dict:
                plan.error(
                    f'cannot load "{bkey}" into the unmaterialized {type(self).__name__} '
                    f'without "{wkey}": the weight\'s shape fixes in_channels'
                )
            return
        weight = state_dict[wkey]
        if (problem := value_problem(wkey, weight)) is not None:
            plan.error(problem)
            return
        problem = self._weight_problem(tuple(weight.shape))
        if problem is not None:
            plan.error(f"cannot materialize {wkey!r}: {problem}")
            return
        bias = state_dict.get(bkey) if conv._has_bias else None
        if conv._has_bias and bkey in state_dict:  # present: must be an array (not None)
            if (problem := value_problem(bkey, bias)) is not None:
                plan.error(problem)
                return
            assert bias is not None
            if tuple(bias.shape) != (conv.out_channels,):
                plan.error(size_mismatch(bkey, tuple(bias.shape), (conv.out_channels,)))
                return
        try:
            backend, device, dtype = self._lazy_placement_for(weight, loading=True)
            new_weight = copied(weight, backend, device, dtype)
            new_bias = None if bias is None else copied(bias, backend, device, dtype)
        except (TypeError, ValueError) as error:
            plan.error(f"cannot materialize {wkey!r}: {error}")
            return
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

        plan.step(materialize)


# --- the public classes --------------------------------------------------------------


def _replicated(array: Array) -> Any:
    """Where parameters made from ``array`` go: its device, replicated if it is sharded.

    A batch split over devices (a JAX ``Sharding`` with several devices) must not split
    the weights the same way: they get one full copy on each of its devices, the layout
    data-parallel training expects (the device list's placement, see
    :meth:`lucid._backends.ArrayBackend.native_device`).
    """
    owner = of(array)
    if owner is None:  # not reached: the caller checked the array's library
        return None
    device = owner.device_of(array)
    devices = getattr(device, "device_set", None)
    if devices is None or len(devices) <= 1:
        return device
    return owner.native_device(sorted(devices, key=lambda d: d.id))


def _blocks_of(array: Array) -> str | None:
    """The backend of an out-of-core array's blocks (NumPy for Dask), else ``None``."""
    owner = of(array)
    return None if owner is None else owner.block_backend
