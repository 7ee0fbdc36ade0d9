"""The default backend: the library lucid creates arrays with when nothing says otherwise.

Arrays passed in by the caller decide the namespace of every operation; the default is
used only when lucid creates arrays from nothing (``lucid.zeros``, an eager
``ConvTranspose2d``).  It is NumPy unless chosen with :func:`set_default_backend`, the
:func:`default_backend` context manager or the ``LUCID_BACKEND`` environment variable
(checked in that order, most local first).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator

from ._registry import check_backend

__all__ = ["default_backend", "get_default_backend", "set_default_backend"]

_ENV = "LUCID_BACKEND"

_override: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "lucid_default_backend", default=None
)
_global_default: str | None = None


def get_default_backend() -> str:
    """The backend lucid creates arrays with when none is given.

    Returns
    -------
    str
        The innermost :func:`default_backend` context, else the last
        :func:`set_default_backend`, else ``$LUCID_BACKEND``, else ``'numpy'``.

    Examples
    --------
    >>> import lucid
    >>> with lucid.default_backend("numpy"):
    ...     lucid.get_default_backend()
    'numpy'
    """
    name = _override.get()
    if name is not None:
        return name
    if _global_default is not None:
        return _global_default
    env = os.environ.get(_ENV, "").strip()
    if env:
        return check_backend(env, what=f"the {_ENV} environment variable")
    return "numpy"


def set_default_backend(name: str | None) -> None:
    """Make ``name`` the default backend of this process (``None`` restores the default).

    Parameters
    ----------
    name : {'numpy', 'jax', 'torch', 'array_api_strict', 'dask'} or None
        ``None`` falls back to ``$LUCID_BACKEND``, then NumPy.

    Raises
    ------
    ValueError
        An unknown or uninstalled backend; the message lists what is accepted.

    Examples
    --------
    >>> import lucid
    >>> lucid.set_default_backend("numpy")
    >>> type(lucid.zeros(1)).__name__
    'ndarray'
    >>> lucid.set_default_backend(None)
    """
    global _global_default
    _global_default = None if name is None else check_backend(name)


@contextlib.contextmanager
def default_backend(name: str) -> Iterator[str]:
    """Use backend ``name`` as the default inside a ``with`` block (this thread/context only).

    Examples
    --------
    >>> import lucid
    >>> with lucid.default_backend("numpy") as name:
    ...     name
    'numpy'
    """
    token = _override.set(check_backend(name))
    try:
        yield name
    finally:
        _override.reset(token)
