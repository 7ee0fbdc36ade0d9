"""Convolution modules: ``Conv{1,2,3}d``, ``ConvTranspose{1,2,3}d`` and their lazy versions.

Everything lives in two N-d bases and one lazy mixin (:mod:`._conv_base`); each public
class here is its rank, its op and its docstring (built from the shared fragments of
:mod:`._conv_docs`, as torch's ``conv.py`` does).  ``inspect.signature`` shows each
constructor as documented.
"""

from __future__ import annotations

from ..ops import conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d
from ._conv_base import _ConvNd, _ConvTransposeNd, _LazyConvMixin
from ._conv_docs import (
    _CONV_HEAD,
    _CONV_OPTIONS,
    _LAZY_HEAD,
    _LAZY_NOTES,
    _LAZY_PLACEMENT,
    _PLACEMENT,
    _TRANSPOSE_OPTIONS,
    _doc,
    _eager_attributes,
    _lazy_attributes,
    _params,
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
    __doc__ = _doc(
        """2-D convolution over ``(N, C_in, H, W)`` or ``(C_in, H, W)`` inputs.

The module of ``torch.nn.Conv2d`` on any Array API backend: the same signature,
state-dict keys, repr and initial distribution.  The parameters are created on the
default backend (see :func:`lucid.set_default_backend`) and move with
:meth:`~lucid.nn.Module.to`; ``forward`` calls :func:`lucid.ops.conv2d`.""",
        _params(_CONV_HEAD, _CONV_OPTIONS, _PLACEMENT),
        _eager_attributes(
            "(out_channels, in_channels // groups, *kernel_size)",
            "in_channels / groups * prod(kernel_size)",
        ),
        """Notes
-----
Output: ``(N, C_out, H_out, W_out)`` with ``H_out = (H + 2*padding - dilation*(KH - 1)
- 1) // stride + 1``.  A :class:`ConvTranspose2d` with the same ``kernel_size``,
``stride`` and ``padding`` maps ``H_out`` back to ``H`` when ``H + 2*padding -
dilation*(KH - 1) - 1`` is a multiple of ``stride``, and to any ``H`` with
``output_size=``.""",
        """Examples
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
(1, 8, 7, 5)""",
    )
    _ndim = 2
    _op = staticmethod(conv2d)


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


class LazyConv2d(_LazyConvMixin, Conv2d):  # type: ignore[misc]
    __doc__ = _doc(
        """A Conv2d that infers ``in_channels`` from the first input.

Weight allocation is deferred until the first forward call (or a state-dict load),
so encoders can be stacked without tracking the channel dimension by hand.""",
        _params(
            _LAZY_HEAD,
            """\
stride, padding, dilation, groups, bias, padding_mode
    As for :class:`Conv2d` (``padding_mode`` must be ``'zeros'``; ``padding='same'``
    with ``stride > 1`` is a ``ValueError`` at construction, unlike torch).""",
            _LAZY_PLACEMENT,
        ),
        _lazy_attributes(
            "(out_channels, in_channels // groups, K_H, K_W)",
            "``input.shape[1]`` (``input.shape[0]`` unbatched), or ``weight.shape[1] * groups``"
            " after a state-dict load",
        ),
        "Notes\n-----\n" + _LAZY_NOTES.format(eager="Conv2d", rank=4),
        """Symmetric encoder-decoder pairs.  Pair each LazyConv2d encoder stride with a
LazyConvTranspose2d of matching kernel_size, stride, and padding to reconstruct
exact spatial dimensions (for odd sizes, pass ``output_size=``).""",
        """Examples
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
'Conv2d'""",
    )
    cls_to_become = Conv2d


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


class ConvTranspose2d(_ConvTransposeNd):
    __doc__ = _doc(
        """2-D transposed convolution over ``(N, C_in, H, W)`` or ``(C_in, H, W)`` inputs.

The module of ``torch.nn.ConvTranspose2d`` on any Array API backend: the same
signature, state-dict keys, repr and initial distribution.  The parameters are
created on the default backend (see :func:`lucid.set_default_backend`) and move
with :meth:`~lucid.nn.Module.to`; ``forward`` calls :func:`lucid.ops.conv_transpose2d`.""",
        _params(
            _CONV_HEAD.replace("; must be divisible by ``groups``.", ".", 1),
            _TRANSPOSE_OPTIONS,
            _PLACEMENT,
        ),
        _eager_attributes(
            "(in_channels, out_channels // groups, *kernel_size)",
            "out_channels / groups * prod(kernel_size)",
        ),
        """Examples
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
(2, 8, 11, 11)""",
    )
    _ndim = 2
    _op = staticmethod(conv_transpose2d)


class LazyConvTranspose2d(_LazyConvMixin, ConvTranspose2d):  # type: ignore[misc]
    __doc__ = _doc(
        """A ConvTranspose2d that infers in_channels from the first input.

Lazy version of the 2D transposed convolution.  Weight allocation is deferred
until the first forward call, making it easy to compose upsampling decoder
networks without manually tracking the channel dimension through each block.""",
        _params(
            _LAZY_HEAD.replace("int or tuple of int", "int or tuple[int, int]"),
            _TRANSPOSE_OPTIONS.replace("tuple of int", "tuple[int, int]"),
            _LAZY_PLACEMENT,
        ),
        _lazy_attributes("(in_channels, out_channels // groups, K_H, K_W)", "then ``C_in``"),
        """Notes
-----
Input: ``(N, C_in, H_in, W_in)`` or ``(C_in, H_in, W_in)`` -- ``C_in`` is inferred
automatically.  Output: ``(N, C_out, H_out, W_out)`` with the same formula as
ConvTranspose2d.""",
        _LAZY_NOTES.format(eager="ConvTranspose2d", rank=4),
        """Symmetric encoder-decoder pairs.  Pair each LazyConv2d encoder stride with a
LazyConvTranspose2d of matching kernel_size, stride, and padding to reconstruct
exact spatial dimensions.""",
        """Examples
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
64""",
    )
    cls_to_become = ConvTranspose2d


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
