"""What lucid's hot paths need to stay traceable by compilers (``torch.compile``).

:class:`ScopedSetting` is a setting that ``with`` blocks override for the code they
run, in their own thread.  It lives in a :class:`threading.local`, which
``torch.compile`` reads and guards on; it cannot trace ``ContextVar.get`` (a graph
break, or an error under ``fullgraph=True``).

:func:`compiling` says whether a compiler is tracing the current call, so that host-side
caches (NumPy tables converted once) give way to computing the same values in the graph.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any, Generic, TypeVar

from ._backends._base import constant_when_traced
from ._backends._registry import of_namespace

__all__ = ["ScopedSetting", "compiling", "constant_when_traced"]

T = TypeVar("T")


class ScopedSetting(Generic[T]):
    """A value with a default, overridden per thread by :meth:`override`."""

    def __init__(self, default: T) -> None:
        self.default = default
        self._local = threading.local()

    def get(self) -> T:
        """The innermost override in this thread, else the default."""
        value: T = getattr(self._local, "value", self.default)
        return value

    def set(self, value: T) -> None:
        """Use ``value`` from now on in this thread (a command-line run's choice)."""
        self._local.value = value

    @contextlib.contextmanager
    def override(self, value: T) -> Iterator[None]:
        """Use ``value`` for the code run inside the ``with`` block (in this thread)."""
        previous = self.get()
        self.set(value)
        try:
            yield
        finally:
            self.set(previous)


def compiling(xp: Any) -> bool:
    """Whether a compiler is tracing code that computes with namespace ``xp``
    (the backend object's :meth:`~lucid._backends.ArrayBackend.compiling`)."""
    backend = of_namespace(xp)
    return backend is not None and backend.compiling()
