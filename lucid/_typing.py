"""Type aliases used in lucid's public signatures.

They document intent; at run time every alias is permissive because the concrete
array, device and dtype classes belong to backends lucid does not import.
"""

from __future__ import annotations

from typing import Any, Union

__all__ = ["Array", "DTypeLike", "DeviceLike", "Size1d", "Size2d", "Size3d", "SizeNd"]

#: An array of any Array API library (``numpy.ndarray``, ``jax.Array``, ``torch.Tensor``, ...).
Array = Any

#: An int, or a tuple of one int per spatial dimension.
Size1d = Union[int, tuple[int]]
Size2d = Union[int, tuple[int, int]]
Size3d = Union[int, tuple[int, int, int]]
SizeNd = Union[int, tuple[int, ...]]

#: ``None``, ``'cpu'``, ``'cuda'``, ``'cuda:1'``, ``'gpu'`` or a backend's own device object.
DeviceLike = Union[str, Any, None]

#: ``None``, a name such as ``'float32'``, or a backend's own dtype object.
DTypeLike = Union[str, Any, None]
