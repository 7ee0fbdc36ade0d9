"""Opt-in autotuning: time the candidate formulations once per call signature.

Off by default (the default choice is the cost model's, :mod:`._cost`, and never
times anything).  Inside ``with lucid.ops.autotune():``, or with ``LUCID_AUTOTUNE=1``
in the environment, the first call of a layer signature times every candidate
formulation and keeps the fastest:

* eagerly, on the call's real inputs;
* under ``jax.jit`` (the inputs are tracers), on compiled candidates of the same
  shapes and dtypes, fed zeros.

Winners are kept in an on-disk cache (``$LUCID_CACHE_DIR/autotune.json``, default
``~/.cache/lucid``) keyed by lucid's version, the backend and its version, the
device, the dtype and the layer's signature, so later processes skip the timing.
The file is replaced atomically (written beside, then renamed); a corrupt one is
ignored with a warning and rewritten.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .. import _backends
from .._tracing import ScopedSetting

__all__ = [
    "autotune",
    "autotune_enabled",
    "cache_key",
    "cache_path",
    "compiled_candidate",
    "is_tracer",
    "tuned_formulation",
]

# A thread-local setting, not a ContextVar: torch.compile cannot trace ContextVar.get.
_ENABLED: ScopedSetting[bool | None] = ScopedSetting(None)
_TIMED_CALLS = 3


@contextlib.contextmanager
def autotune(enabled: bool = True) -> Iterator[None]:
    """Time the candidate formulations of each new layer signature (``enabled=False``:
    use the cost model even where ``LUCID_AUTOTUNE=1``).

    Examples
    --------
    >>> import numpy as np
    >>> from lucid.ops import autotune, conv_transpose2d
    >>> with autotune():
    ...     y = conv_transpose2d(np.ones((1, 2, 4, 4)), np.ones((2, 3, 3, 3)), stride=2)
    >>> y.shape
    (1, 3, 9, 9)
    """
    if not isinstance(enabled, bool):
        msg = f"autotune(enabled) must be a bool, got {enabled!r}"
        raise TypeError(msg)
    with _ENABLED.override(enabled):
        yield


def autotune_enabled() -> bool:
    """The innermost :func:`autotune` context, else ``LUCID_AUTOTUNE`` (``1`` turns it on)."""
    chosen = _ENABLED.get()
    if chosen is not None:
        return chosen
    return os.environ.get("LUCID_AUTOTUNE", "").strip() not in ("", "0")


def cache_path() -> Path:
    """Where the winners are stored: ``$LUCID_CACHE_DIR/autotune.json``."""
    folder = os.environ.get("LUCID_CACHE_DIR") or os.path.join("~", ".cache", "lucid")
    return Path(folder).expanduser() / "autotune.json"


def _version(backend: str | None) -> str:
    """The installed version of ``backend``'s library (its distribution, less extras)."""
    try:
        distribution = _backends.get(backend or "", checked=False).distribution
        return importlib.metadata.version(distribution.split("[")[0])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return "unknown"


def cache_key(backend: str | None, device: Any, dtype: Any, layer: tuple[Any, ...]) -> str:
    """The cache key of one layer signature on one backend, device and dtype."""
    from lucid import __version__

    parts = (
        f"lucid {__version__}",
        f"{backend} {_version(backend)}",
        f"device {device if device is not None else 'unplaced (traced)'}",
        f"dtype {dtype}",
        "layer " + repr(layer),
    )
    return " | ".join(parts)


def _load(path: Path) -> dict[str, str]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return {}
    except OSError as error:
        warnings.warn(f"cannot read the autotune cache {path}: {error}", stacklevel=4)
        return {}
    try:
        table = json.loads(text)
    except ValueError:
        table = None
    if not isinstance(table, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in table.items()
    ):
        warnings.warn(
            f"ignoring the corrupt autotune cache {path}; it will be rewritten", stacklevel=4
        )
        return {}
    return table


def _store(path: Path, key: str, formulation: str) -> None:
    table = _load(path)
    table[key] = formulation
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".autotune-", suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            json.dump(table, f, indent=1, sort_keys=True)
        os.replace(tmp, path)  # readers see the old file or the new one, never half
    except OSError as error:
        warnings.warn(f"cannot write the autotune cache {path}: {error}", stacklevel=4)


def _ready(y: Any) -> None:
    block = getattr(y, "block_until_ready", None)  # asynchronous libraries (JAX)
    if block is not None:
        block()


def _median_time(fn: Callable[[], Any]) -> float:
    _ready(fn())  # untimed: compilation, caches
    times = []
    for _ in range(_TIMED_CALLS):
        start = time.perf_counter()
        _ready(fn())
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def compiled_candidate(fn: Callable[..., Any], arrays: tuple[Any, ...]) -> Callable[[], Any]:
    """``fn`` compiled by ``jax.jit`` for the shapes and dtypes of ``arrays`` (tracers or
    arrays; ``None`` entries stay ``None``), called on zeros of those shapes."""
    import jax
    import numpy as np

    specs = [None if a is None else jax.ShapeDtypeStruct(a.shape, a.dtype) for a in arrays]
    executable = jax.jit(fn).lower(*specs).compile()
    zeros = [None if a is None else np.zeros(a.shape, a.dtype) for a in arrays]
    return lambda: executable(*zeros)


def is_tracer(x: Any) -> bool:
    """Whether ``x`` is a JAX tracer (only asked of arrays whose library compiles)."""
    import jax

    return isinstance(x, jax.core.Tracer)


def tuned_formulation(
    key: str,
    options: list[str],
    run: Callable[[str], Callable[[], Any]],
) -> str:
    """The cached winner for ``key``, else the fastest of ``options`` (then cached).

    ``run(name)`` returns a zero-argument callable computing the layer with ``name``.
    """
    path = cache_path()
    cached = _load(path).get(key)
    if cached in options:
        return cached
    times = {name: _median_time(run(name)) for name in options}
    best = min(times, key=times.__getitem__)
    _store(path, key, best)
    return best
