"""Type aliases used in lucid's public signatures.

They document intent; at run time every alias is permissive because the concrete
array, device and dtype classes belong to backends lucid does not import.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Array", "DTypeLike", "DeviceLike", "Shown", "Size1d", "Size2d", "Size3d", "SizeNd"]

#: An array of any Array API library (``numpy.ndarray``, ``jax.Array``, ``torch.Tensor``, ...).
Array = Any

#: An int, or a tuple of one int per spatial dimension.
Size1d = int | tuple[int]
Size2d = int | tuple[int, int]
Size3d = int | tuple[int, int, int]
SizeNd = int | tuple[int, ...]

#: ``None``, ``'cpu'``, ``'cuda'``, ``'cuda:1'``, ``'gpu'`` or a backend's own device object.
DeviceLike = str | Any | None

#: ``None``, a name such as ``'float32'``, or a backend's own dtype object.
DTypeLike = str | Any | None


class Shown:
    """An annotation that signatures show by its documented name (``_Size2d``, ``DeviceLike``).

    ``inspect.signature`` of the public modules uses these, so the signature reads as
    the documentation writes it.

    >>> import inspect
    >>> inspect.Parameter("k", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Shown("_Size2d"))
    <Parameter "k: _Size2d">
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name
