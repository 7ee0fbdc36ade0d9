"""Lazy modules whose one unknown is a feature count: ``LazyLinear``, ``LazyBatchNorm*``.

The count (``in_features`` / ``num_features``) is read from one axis of the first input,
or from the shapes of a state dict's entries; every array the module holds (parameters
and buffers) is then made at once, with the eager class's initial values, and the
module becomes its eager class.  A module is pending while its count is ``None`` (so a
``LazyBatchNorm2d(affine=False, track_running_stats=False)`` materialises too).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from .._backends import backend_of, copied, of
from .._typing import Array
from . import _state_values
from .lazy import LazyModuleMixin, _lock, created_outside_compilers
from .module import _as_parameter

__all__ = ["LazyFeaturesMixin"]


class LazyFeaturesMixin(LazyModuleMixin):
    """Mix in before the eager class; subclasses say where the count lives and what it makes.

    * ``_feature_attr``: the attribute holding the count (``None`` until materialised);
    * ``_feature_axis``: the input axis it is read from;
    * :meth:`_lazy_shapes` -- ``{name: shape}`` of every array for a count;
    * :meth:`_lazy_values` -- ``{name: array}`` for a count, where an input lives.
    """

    _feature_attr: ClassVar[str]
    _feature_axis: ClassVar[int]
    #: The state-dict entries able to fix the count (their axis 0 or 1 holds it).
    _defining: ClassVar[tuple[tuple[str, int], ...]]
    #: Entries that hold integers (a count), not floating values.
    _integer_entries: ClassVar[tuple[str, ...]] = ()

    def has_uninitialized_params(self) -> bool:
        return self.__dict__.get(self._feature_attr) is None

    # --- what subclasses provide ---------------------------------------------------

    def _lazy_shapes(self, features: int) -> dict[str, tuple[int, ...]]:
        raise NotImplementedError

    def _lazy_values(self, features: int, where: tuple[str, Any, Any]) -> dict[str, Array]:
        raise NotImplementedError

    # --- from an input ----------------------------------------------------------------

    def _features_of_input(self, x: Array) -> int:
        name = type(self).__name__
        axis = self._feature_axis
        if backend_of(x) is None:
            msg = f"{name} expects an array, got {type(x).__module__}.{type(x).__name__}"
            raise TypeError(msg)
        if x.ndim <= (axis if axis >= 0 else -axis - 1) or int(x.shape[axis]) <= 0:
            msg = (
                f"{name} infers {self._feature_attr} from dimension {axis} of its first input, "
                f"got input of shape {tuple(x.shape)}"
            )
            raise ValueError(msg)
        return int(x.shape[axis])

    def _lazy_create(self, x: Array) -> tuple[dict[str, Array | None], dict[str, Any]]:
        from ._conv_base import _LazyConvMixin

        features = self._features_of_input(x)
        where = _LazyConvMixin._lazy_placement_for(self, x, loading=False)  # type: ignore[arg-type]
        values: dict[str, Array | None] = dict(self._lazy_values(features, where))
        return values, {self._feature_attr: features}

    def materialize(
        self, x: Array, first_use: Callable[[dict[str, Array | None]], None] | None = None
    ) -> None:
        """Create every array for input ``x`` unless that has happened already."""
        attr = self._feature_attr  # read now: another thread may change our class
        if self.__dict__.get(attr) is not None:
            return

        def create() -> None:
            with _lock:
                if self.__dict__.get(attr) is not None:
                    return
                values, config = self._lazy_create(x)
                buffers = self.__dict__["_buffers"]
                values = {
                    name: value if name in buffers else _as_parameter(value)
                    for name, value in values.items()
                }
                if first_use is not None:
                    first_use(values)
                self._lazy_commit(values, config)

        created_outside_compilers(of(x), create)

    def _lazy_commit(self, params: dict[str, Array | None], config: dict[str, Any]) -> None:
        """Install parameters *and* buffers; hand both to a JAX tracing copy's origin."""
        state = self.__dict__
        origin_ref = state.pop("_lazy_origin", None)
        buffers = state["_buffers"]
        for name, value in params.items():
            if name in buffers:
                buffers[name] = value
        super()._lazy_commit({k: v for k, v in params.items() if k not in buffers}, config)
        origin = origin_ref() if origin_ref is not None else None
        if (
            isinstance(origin, LazyFeaturesMixin)
            and origin is not self
            and origin.has_uninitialized_params()
        ):
            origin._lazy_commit(dict(params), dict(config))

    # --- from a state dict ------------------------------------------------------------

    def _load_plan(self, plan: Any, prefix: str) -> None:
        if not self.has_uninitialized_params():
            super()._load_plan(plan, prefix)  # type: ignore[misc]
            return
        from ._conv_base import _LazyConvMixin

        name = type(self).__name__
        state_dict = plan.state_dict
        probe = self._lazy_shapes(1)
        plan.expected += [prefix + key for key in probe]
        present = {key: state_dict[prefix + key] for key in probe if prefix + key in state_dict}
        for key, value in present.items():
            problem = _state_values.value_problem(
                prefix + key, value, floating=key not in self._integer_entries
            )
            if problem is not None:
                plan.error(problem)
                return
        defining = [(k, axis) for k, axis in self._defining if k in present]
        if not defining:
            if present:
                keys = ", ".join(f'"{prefix}{k}"' for k, _ in self._defining if k in probe)
                plan.error(
                    f"cannot load into the unmaterialized {name} without one of {keys}: "
                    f"their shape fixes {self._feature_attr}"
                )
            return
        key, axis = defining[0]
        first = present[key]
        if first.ndim <= axis or int(first.shape[axis]) <= 0:
            plan.error(
                f"cannot materialize {prefix + key!r}: its shape {tuple(first.shape)} "
                f"has no positive {self._feature_attr} on axis {axis}"
            )
            return
        features = int(first.shape[axis])
        shapes = self._lazy_shapes(features)
        for key, value in present.items():
            if tuple(value.shape) != shapes[key]:
                plan.error(
                    f"size mismatch for {prefix + key}: copying a param with shape "
                    f"{tuple(value.shape)} from checkpoint, the shape in current model is "
                    f"{shapes[key]}."
                )
                return
        try:
            where = _LazyConvMixin._lazy_placement_for(self, first, loading=True)  # type: ignore[arg-type]
            fresh = self._lazy_values(features, where)
            values = {
                key: copied(present[key], like=fresh[key]) if key in present else fresh[key]
                for key in shapes
            }
        except (TypeError, ValueError) as error:
            plan.error(f"cannot materialize {prefix + key!r}: {error}")
            return

        def materialize() -> None:
            with _lock:
                if self.has_uninitialized_params():
                    self._lazy_commit(dict(values), {self._feature_attr: features})
                else:  # another thread got there first: load as into an eager module
                    for key, value in values.items():
                        setattr(self, key, value)

        plan.step(materialize)
