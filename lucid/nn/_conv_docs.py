"""Docstring fragments shared by the convolution classes of :mod:`lucid.nn.conv`."""

from __future__ import annotations

_PLACEMENT = """\
device : DeviceLike
    Where the parameters live; a ``torch.device`` or ``jax.Device`` also selects
    that backend. Default: None (the default backend's default device).
dtype : DTypeLike
    Floating dtype of the parameters. Default: None (``float32``)."""

_LAZY_PLACEMENT = """\
device : DeviceLike
    Default: None (the input's device).
dtype : DTypeLike
    Default: None (the input's floating dtype)."""

_CONV_OPTIONS = """\
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
    ``'circular'`` (and anything else) raise a ``ValueError``. Default: ``'zeros'``."""

_TRANSPOSE_OPTIONS = """\
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
    Spacing between kernel elements. Default: 1."""

_LAZY_NOTES = """\
The parameters are created in the input's namespace, on its device and with its
floating dtype, unless ``device``/``dtype`` were given or the module was moved with
``.to(...)``; afterwards the module *is* a :class:`{eager}`.  A {rank}-D ``weight`` in
a state dict materializes the module before the copy and sets ``in_channels``; a load
that fails leaves it unmaterialized."""


def _doc(summary: str, *sections: str) -> str:
    return "\n\n".join((summary, *sections))


def _params(*fragments: str) -> str:
    return "Parameters\n----------\n" + "\n".join(fragments)


def _eager_attributes(layout: str, fan_in: str) -> str:
    return f"""Attributes
----------
weight : array
    ``{layout}``, initialised from ``U(-b, b)`` with ``b = 1 / sqrt(fan_in)``,
    ``fan_in = {fan_in}`` (torch's kaiming-uniform with ``a = sqrt(5)``).
bias : array or None
    ``(out_channels,)``, from ``U(-b, b)`` with the same ``b``."""


def _lazy_attributes(layout: str, inferred: str) -> str:
    return f"""Attributes
----------
weight : Parameter or None
    ``None`` before materialization; shape ``{layout}`` afterwards.
bias : Parameter or None
    ``None`` before materialization; ``(out_channels,)`` if ``bias=True``.
in_channels : int or None
    ``None`` before the first forward pass; {inferred}."""


_CONV_HEAD = """\
in_channels : int
    Channels of the input; must be divisible by ``groups``.
out_channels : int
    Channels of the output; must be divisible by ``groups``.
kernel_size : int or tuple of int
    Size of the kernel."""

_LAZY_HEAD = """\
out_channels : int
    Channels of the output; must be divisible by ``groups``.
kernel_size : int or tuple of int
    Size of the kernel."""
