"""Checkpoints as safetensors files: :func:`save` and :func:`load`, never pickle.

A state dict (any backend's arrays, keyed as torch keys them) is written as a
`safetensors <https://github.com/huggingface/safetensors>`_ file, the format torch
(``safetensors.torch``), flax (``safetensors.flax``) and the Hugging Face hub read and
write; lucid reads theirs too.  Writes are atomic: the bytes go to a temporary file in
the same folder, which is flushed, synced to disk and only then renamed over
``path``, so a crash leaves the old file or the new one, never half of one.

Examples
--------
>>> import os, tempfile
>>> import numpy as np
>>> import lucid
>>> folder = tempfile.mkdtemp()
>>> path = os.path.join(folder, "layer.safetensors")
>>> lucid.save({"weight": np.ones((2, 3), np.float32)}, path)
>>> state = lucid.load(path)
>>> state["weight"].shape, state["weight"].dtype
((2, 3), dtype('float32'))
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from typing import Any

import numpy as np

from ._backends import (
    backend_of,
    check_backend,
    from_numpy,
    get_default_backend,
    namespace,
    resolve_device,
    resolve_dtype,
)
from ._backends import to_numpy as _to_numpy
from ._typing import Array, DeviceLike

__all__ = ["load", "save"]

PathLike = str | os.PathLike[str]

#: The metadata key holding the version of lucid that wrote a file.
VERSION_KEY = "lucid_version"

# The first bytes of the pickle-based formats: torch.save's zip archive, and a bare
# pickle (protocol 2 and later start with b"\x80").
_ZIP_MAGIC = b"PK\x03\x04"
_PICKLE_MAGIC = b"\x80"


def _safetensors_numpy() -> Any:
    try:
        import safetensors.numpy
    except ImportError:  # pragma: no cover - a core dependency
        msg = "lucid.save/lucid.load need the safetensors package: pip install safetensors"
        raise ImportError(msg) from None
    return safetensors.numpy


def _host_arrays(state_dict: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Every entry as a C-contiguous NumPy array; ``TypeError``/``ValueError`` naming the key."""
    if hasattr(state_dict, "state_dict") and callable(state_dict.state_dict):
        msg = "save expects a state dict; pass model.state_dict(), not the module itself"
        raise TypeError(msg)
    if not isinstance(state_dict, Mapping):
        msg = f"save expects a mapping of str to arrays, got {type(state_dict).__name__}"
        raise TypeError(msg)
    arrays: dict[str, np.ndarray] = {}
    for key, value in state_dict.items():
        if not isinstance(key, str):
            msg = f"state dict keys must be str, got {type(key).__name__} {key!r}"
            raise TypeError(msg)
        if backend_of(value) is None:
            msg = (
                f"state dict entry {key!r} must be an array, got {type(value).__name__}; "
                "safetensors stores arrays only"
            )
            raise TypeError(msg)
        try:
            host = np.asarray(_to_numpy(value))
            if not host.flags.c_contiguous:  # (ascontiguousarray would make 0-d arrays 1-d)
                host = np.ascontiguousarray(host)
        except Exception as error:
            msg = f"state dict entry {key!r} cannot be brought to the host: {error}"
            raise ValueError(msg) from error
        if host.dtype.kind not in "biuf":
            msg = (
                f"state dict entry {key!r} has dtype {host.dtype}, which safetensors cannot "
                "store (bool, integer and real floating arrays only)"
            )
            raise ValueError(msg)
        arrays[key] = host
    return arrays


def save(
    state_dict: Mapping[str, Array],
    path: PathLike,
    *,
    metadata: Mapping[str, str] | None = None,
) -> None:
    """Write ``state_dict`` to ``path`` as a safetensors file, atomically.

    Parameters
    ----------
    state_dict : mapping of str to array
        Arrays of any backend (e.g. ``model.state_dict()``); they are copied to the host.
    path : str or os.PathLike
        Conventionally ``*.safetensors``.  An existing file is replaced only once the
        new one is completely on disk.
    metadata : mapping of str to str, optional
        Stored in the file's header, with ``lucid_version`` and ``format='pt'`` (torch's
        layout and key names) added.

    Raises
    ------
    TypeError, ValueError
        An entry that is not an array, or of a dtype safetensors cannot hold (named).
    """
    from . import __version__

    arrays = _host_arrays(state_dict)
    header = {"format": "pt", **dict(metadata or {}), VERSION_KEY: __version__}
    if any(not isinstance(k, str) or not isinstance(v, str) for k, v in header.items()):
        msg = f"metadata must map str to str, got {dict(metadata or {})!r}"
        raise TypeError(msg)
    data = _safetensors_numpy().save(arrays, metadata=header)
    target = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(target))
    handle, temporary = tempfile.mkstemp(
        dir=folder, prefix=f".{os.path.basename(target)}.", suffix=".tmp"
    )
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    _sync_folder(folder)


def _sync_folder(folder: str) -> None:
    """Make the rename durable too (POSIX; a no-op where folders cannot be opened)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def _pickle_message(path: str) -> str:
    stem = os.path.splitext(path)[0]
    return (
        f"{path} is a pickle-based checkpoint (torch.save's .pt/.pth/.bin format); lucid does "
        "not unpickle, because loading a pickle can run arbitrary code. Convert it once, with "
        "torch, to safetensors:\n"
        "    import torch\n"
        "    from safetensors.torch import save_file\n"
        f"    state = torch.load({path!r}, weights_only=True)  # a model? use model.state_dict()\n"
        f"    save_file({{k: v.contiguous() for k, v in state.items()}}, {stem + '.safetensors'!r})"
    )


def load(
    path: PathLike, *, backend: str | None = None, device: DeviceLike = None
) -> dict[str, Array]:
    """Read a safetensors file into arrays of ``backend`` on ``device``.

    Parameters
    ----------
    path : str or os.PathLike
        A safetensors file, written by :func:`save`, ``safetensors.torch``,
        ``safetensors.flax`` or ``safetensors.numpy``.
    backend : str, optional
        ``'numpy'``, ``'torch'``, ``'jax'`` or ``'array_api_strict'``; default: lucid's
        default backend (:func:`lucid.get_default_backend`).
    device : optional
        E.g. ``'cpu'`` or ``'cuda:0'``; default: the backend's default device.

    Returns
    -------
    dict of str to array
        In the file's order, dtypes as stored (``model.load_state_dict`` converts them),
        except that 64-bit integers (``num_batches_tracked``) become int32 on a backend
        without 64-bit integers (JAX without ``jax_enable_x64``) when that is exact.

    Raises
    ------
    ValueError
        The file is pickle-based (the message says how to convert it), or it is not a
        valid safetensors file (corrupt or truncated), or an entry cannot be represented
        exactly on ``backend`` (float64 on JAX without 64-bit mode).

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import lucid
    >>> path = os.path.join(tempfile.mkdtemp(), "stats.safetensors")
    >>> lucid.save({"num_batches_tracked": np.array(3)}, path)
    >>> lucid.load(path, backend="numpy")["num_batches_tracked"].tolist()
    3
    """
    target = os.fspath(path)
    name = get_default_backend() if backend is None else check_backend(backend)
    native_device = resolve_device(name, device)
    with open(target, "rb") as file:
        data = file.read()
    try:
        arrays = _safetensors_numpy().load(data)
    except KeyError as error:  # a dtype NumPy lacks, such as BF16
        msg = (
            f"{target} holds {error.args[0]} tensors, which lucid cannot read through NumPy; "
            "convert them to float32 first (with torch: {k: v.float() for k, v in state.items()})"
        )
        raise ValueError(msg) from None
    except Exception as error:
        # Judged only once safetensors has refused the file: a valid header's length
        # may begin with the pickle's byte.
        if data.startswith(_ZIP_MAGIC) or data.startswith(_PICKLE_MAGIC):
            raise ValueError(_pickle_message(target)) from None
        msg = f"{target} is not a valid safetensors file (corrupt or truncated?): {error}"
        raise ValueError(msg) from None
    xp = namespace(name)
    return {
        key: from_numpy(value, name, native_device, _dtype_for(xp, key, value, target))
        for key, value in arrays.items()
    }


def _dtype_for(xp: Any, key: str, value: np.ndarray, path: str) -> Any:
    """The stored dtype on ``xp``; an exact int32 where it has no 64-bit integers."""
    try:
        return resolve_dtype(xp, value.dtype)
    except ValueError as error:
        small = value.size == 0 or (
            np.iinfo(np.int32).min <= value.min() and value.max() <= np.iinfo(np.int32).max
        )
        if value.dtype.kind in "iu" and small:
            return resolve_dtype(xp, "int32")
        msg = f"{path}: entry {key!r} ({value.dtype}) cannot be loaded exactly: {error}"
        raise ValueError(msg) from None
