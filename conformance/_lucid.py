"""How the conformance suite calls lucid: a case's data as one backend's arrays.

:func:`evaluate` runs a computation on many cases at once.  On JAX it traces all of
them into **one** ``jax.jit`` program: eager JAX compiles every primitive anew for
each of the grid's one-off shapes (about a second a case), while one compilation per
chunk costs a few hundredths of a second a case.  If the chunk fails to trace or
run, each case is re-run under its own ``jax.jit``, so each failure is attributed to
its own case.  (Eager JAX is checked separately, in the gradient tests and tests/.)
The test configuration chooses XLA's options (conftest.py: cheap compilation, and
XLA's defaults for a sample in test_xla_defaults.py).

Even so, JAX spends ~0.1 s of compilation per case where the other backends spend a
millisecond; every backend still runs every case in both dtypes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from lucid.ops import conv_transpose1d, conv_transpose2d, conv_transpose3d
from lucid.testing import Backend

from ._grid import Case
from ._reference import case_data

__all__ = [
    "OPS",
    "backend_arrays",
    "evaluate",
    "lucid_forward",
]

OPS = {1: conv_transpose1d, 2: conv_transpose2d, 3: conv_transpose3d}

#: ``compute(case, x, w, b, g)``: x, w, b (or None) and the cotangent g as backend arrays.
Compute = Callable[[Case, Any, Any, Any, Any], Any]


def backend_arrays(case: Case, backend: Backend, dtype: str) -> tuple[Any, Any, Any, Any]:
    """``case``'s input, weight, bias (or None) and cotangent as ``backend`` arrays."""
    data = case_data(case)
    arrays = (data.input, data.weight, data.bias, data.cotangent)
    convert = backend.asarray
    if backend.name == "jax":
        import jax

        # jnp.asarray compiles a conversion for every new shape; device_put does not.
        def convert(a: np.ndarray, dtype: str | None = None) -> Any:
            return jax.device_put(np.asarray(a, dtype=dtype))

    return tuple(  # type: ignore[return-value]
        None if a is None else convert(a, dtype) for a in arrays
    )


def lucid_forward(case: Case, x: Any, w: Any, b: Any, g: Any = None) -> Any:
    """The lucid op of ``case``'s dimensionality, with ``case``'s hyper-parameters."""
    return OPS[case.ndim](x, w, b, **case.kwargs(), output_size=case.output_size)


def evaluate(
    cases: Sequence[Case],
    backend: Backend,
    dtype: str,
    compute: Compute = lucid_forward,
    *,
    jit: bool = True,
) -> list[Any]:
    """``compute`` on every case: its result, or the exception it raised.

    With ``jit`` (the default) JAX runs all cases as one compiled program.
    Exceptions are returned rather than raised, so that each case is judged alone.
    """
    inputs = [backend_arrays(case, backend, dtype) for case in cases]
    if jit and backend.name == "jax":
        return _evaluate_jitted(cases, inputs, compute)
    return [_attempt(compute, case, *arrays) for case, arrays in zip(cases, inputs)]


def _attempt(compute: Callable[..., Any], *args: Any) -> Any:
    try:
        return compute(*args)
    except Exception as error:  # a failure of this case, reported by assert_all
        return error


def _evaluate_jitted(cases: Sequence[Case], inputs: list[Any], compute: Compute) -> list[Any]:
    """All cases as one ``jax.jit`` program; if that fails, each case in its own."""
    import jax

    def all_cases(arrays: list[tuple[Any, ...]]) -> list[Any]:
        return [compute(case, *a) for case, a in zip(cases, arrays)]

    def one_case(case: Case, *arrays: Any) -> Any:
        return jax.block_until_ready(jax.jit(lambda *a: compute(case, *a))(*arrays))

    try:
        return jax.block_until_ready(jax.jit(all_cases)(inputs))  # type: ignore[no-any-return]
    except Exception:  # find which case(s) failed: still under jit, one at a time
        return [_attempt(one_case, case, *arrays) for case, arrays in zip(cases, inputs)]
