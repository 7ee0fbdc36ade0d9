"""Convolution modules: ``Conv{1,2,3}d``, ``ConvTranspose{1,2,3}d`` and their lazy versions.

Everything lives in two N-d bases and one lazy mixin (:mod:`._conv_base`); each public
class is a signature, a docstring and three class attributes:

* :class:`_ConvNd` -- validation, parameters, torch's initialisation, placement,
  ``reset_parameters``, ``forward`` and ``repr`` of a convolution over ``_ndim`` spatial
  dimensions.  Forward convolutions use it as is: weight ``(C_out, C_in / groups, *k)``.
* :class:`_ConvTransposeNd` -- what a transposed convolution changes: the weight layout
  ``(C_in, C_out / groups, *k)``, ``output_padding`` and ``forward(x, output_size)``.
* :class:`_LazyConvMixin` -- materialisation from the first input or from a state dict,
  for either kind (the kind's weight layout is asked of the eager class).
"""

from __future__ import annotations

from collections.abc import Sequence

from .._typing import Array, DeviceLike, DTypeLike, Size1d, Size2d, Size3d
from ..ops import conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d
from ._conv_base import (
    Padding1d,
    Padding2d,
    Padding3d,
    _ConvNd,
    _ConvTransposeNd,
    _LazyConvMixin,
)

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
