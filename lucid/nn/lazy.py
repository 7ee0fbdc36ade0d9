"""What makes a module lazy: its parameters are made from the first input (or state dict).

A lazy module holds ``None`` for its parameters until it *materialises*:

* on the first call, from the input's shape, namespace, device and floating dtype
  (unless ``device``/``dtype`` were given or the module was moved with ``.to(...)``);
* on :meth:`~lucid.nn.Module.load_state_dict`, from the shapes it finds.

Materialisation happens exactly once, under a lock, and only after every check has
passed; then the instance becomes its eager class (``cls_to_become``), so it is
indistinguishable from a module built eagerly.  torch's faults are not copied: the
inferred sizes are set after a state-dict load, and a failed load changes nothing.

Inside ``jax.jit`` the parameters are made as concrete arrays (not tracers), so the
module stays usable after the traced call.  While it is unmaterialised a lazy module
is its own pytree identity (:meth:`LazyModuleMixin._pytree_token`): a copy that JAX
makes while tracing hands the parameters it creates back to the original
(``_lazy_origin``), and no two lazy modules share a compiled function.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, ClassVar

from .. import random as _random
from .._backends import ArrayBackend, dtype_name, of, parse_device
from .._typing import Array, DeviceLike, DTypeLike
from .module import Module, _as_parameter

__all__ = ["LazyModuleMixin"]

# One lock for every materialisation: each module materialises once, so contention is
# nil, and no lock object has to live in (and be pickled or copied with) a module.
_lock = threading.RLock()


def _pending(module: object, names: tuple[str, ...]) -> bool:
    """Whether any of ``names`` is still ``None`` (safe after the class has changed)."""
    params = module.__dict__.get("_parameters", {})
    return any(params.get(name) is None for name in names if name in params)


def created_outside_compilers(backend: ArrayBackend | None, create: Callable[[], None]) -> None:
    """Run ``create()``, a lazy module's first call on an input of ``backend``, unseen by
    compilers (:meth:`~lucid._backends.ArrayBackend.run_uncompiled`): where
    ``torch.compile`` gave up tracing it, it would otherwise compile the
    initialisation's functions one by one."""
    if backend is None:
        create()
    else:
        backend.run_uncompiled(create)


class LazyModuleMixin:
    """Mix in before an eager module class to defer parameter creation.

    Subclasses set ``cls_to_become`` (the eager class), list in ``_lazy_params`` the
    parameters that are ``None`` until materialisation and implement
    :meth:`_lazy_create` (make the parameters for an input).
    """

    cls_to_become: ClassVar[type[Module] | None] = None
    _lazy_params: ClassVar[tuple[str, ...]] = ("weight",)
    _parameters: dict[str, Array | None]

    def has_uninitialized_params(self) -> bool:
        """Whether the module still waits for its first input (or state dict)."""
        return _pending(self, self._lazy_params)

    def _pytree_token(self) -> Any:
        return self if self.has_uninitialized_params() else None

    def _lazy_target(self) -> tuple[str | None, DeviceLike, DTypeLike]:
        """``(backend, device, dtype)`` chosen at construction or with ``.to(...)``."""
        return self.__dict__.get("_lazy_placement", (None, None, None))

    def materialize(
        self, x: Array, first_use: Callable[[dict[str, Array | None]], None] | None = None
    ) -> None:
        """Create the parameters for input ``x`` unless that has happened already.

        ``first_use(params)``, when given, runs with the new parameters before they are
        installed; if it raises, the module stays exactly as it was.
        """
        names = self._lazy_params  # read now: another thread may change our class
        if not _pending(self, names):
            return
        backend = of(x)
        if backend is not None and backend.compiling():
            # torch.compile traces this Python instead of running it, and cannot trace the
            # lock, lucid's NumPy random stream or the change of class below.
            msg = (
                f"{type(self).__name__} makes its parameters on its first call, which "
                "torch.compile cannot trace; compile lucid.nn.to_torch(model) instead (a "
                "torch lazy module, materialised before tracing), or call the model once "
                "before compiling it"
            )
            raise RuntimeError(msg)

        def create() -> None:
            with _lock:
                if not _pending(self, names):
                    return
                # A rejected first input must leave no trace, not even in the random
                # stream: the next call then draws the weights a clean seeded run draws.
                stream = _random.get_rng_state()
                try:
                    params, config = self._lazy_create(x)
                    # Parameters first, so the first output is connected to the autograd
                    # of the very tensors that get installed (on torch: leaves requiring
                    # grad).
                    params = {name: _as_parameter(value) for name, value in params.items()}
                    if first_use is not None:
                        first_use(params)
                except BaseException:
                    _random.set_rng_state(stream)
                    raise
                self._lazy_commit(params, config)

        created_outside_compilers(backend, create)

    def _lazy_create(self, x: Array) -> tuple[dict[str, Array | None], dict[str, Any]]:
        """Check ``x`` and return the new parameters and config attributes; change nothing."""
        raise NotImplementedError

    def _lazy_commit(self, params: dict[str, Array | None], config: dict[str, Any]) -> None:
        """Install parameters and config, then become the eager class (caller holds the lock)."""
        state = self.__dict__
        state.update(config)
        for name, value in params.items():
            state["_parameters"][name] = _as_parameter(value)
        state.pop("_lazy_placement", None)
        origin_ref = state.pop("_lazy_origin", None)
        if self.cls_to_become is not None:
            self.__class__ = self.cls_to_become  # type: ignore[assignment]
        # A copy made by jax while tracing hands its (concrete) parameters back.
        origin = origin_ref() if origin_ref is not None else None
        if (
            isinstance(origin, LazyModuleMixin)
            and origin is not self
            and origin.has_uninitialized_params()
        ):
            origin._lazy_commit({name: state["_parameters"][name] for name in params}, dict(config))

    def _to_plan(
        self, backend: str | None, device: DeviceLike, dtype: DTypeLike, steps: list[Any]
    ) -> None:
        if not self.has_uninitialized_params():
            super()._to_plan(backend, device, dtype, steps)  # type: ignore[misc]
            return
        if device is not None:
            parse_device(device)
        if dtype is not None:
            dtype_name(dtype)
        old = self._lazy_target()
        new = (
            backend if backend is not None else old[0],
            device if device is not None else old[1],
            dtype if dtype is not None else old[2],
        )
        steps.append(lambda: self.__dict__.__setitem__("_lazy_placement", new))
