"""What is timed: lucid and the native op on one backend, as zero-argument callables.

Each builder returns ``{"lucid": fn, "native": fn}``; calling ``fn()`` runs the layer
once on fixed float32 inputs and returns only when the result exists (JAX is
asynchronous, so its callables block).  The native references:

* NumPy: ``torch.nn.functional``'s op of the same name on the same memory
  (``torch.from_numpy`` and ``.numpy()`` share buffers, so no copy is timed).
* PyTorch: ``torch.nn.functional``'s op, eager, as lucid runs.
* JAX: ``jax.lax.conv_general_dilated`` (with ``lhs_dilation=stride`` for transposed
  convolutions) under ``jax.jit``, the same jit lucid's function is compiled under.

``"forward+backward"`` computes the output and the gradients with respect to input,
weight and bias for a fixed random cotangent; NumPy has no autodiff and so no such row.

:func:`build_floor` gives a third kind of callable, forward only: just the matrix
products of one of :func:`~benchmarks.cases.matmul_layouts`, on ready-made operands,
with the backend's own ``@`` (NumPy's, torch's under ``no_grad``, JAX's under
``jax.jit``).  Frameworks are imported inside the builders only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .cases import Case, matmul_layouts
from .native import native_op

__all__ = [
    "DIRECTIONS",
    "build",
    "build_floor",
    "eager_jax_forward",
    "has_direction",
    "matmul_gflops",
]

DIRECTIONS = ("forward", "forward+backward")

Runner = Callable[[], Any]


def has_direction(backend: str, direction: str) -> bool:
    """NumPy has no autodiff, so it is benchmarked forward only."""
    return direction == "forward" or backend != "numpy"


def _inputs(case: Case, direction: str, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    fan_in = case.weight_shape[1] * case.kernel ** len(case.size)
    data = {
        "x": rng.standard_normal(case.input_shape, dtype=np.float32),
        "w": rng.standard_normal(case.weight_shape, dtype=np.float32) / np.float32(fan_in**0.5),
        "b": rng.standard_normal((case.c_out,), dtype=np.float32),
    }
    if direction == "forward+backward":
        out_shape = (case.n, case.c_out, *case.output_size)
        data["gy"] = rng.standard_normal(out_shape, dtype=np.float32)
    return data


def build(backend: str, case: Case, direction: str) -> dict[str, Runner]:
    """The lucid and native callables for ``case`` on ``backend`` in ``direction``."""
    if direction not in DIRECTIONS or not has_direction(backend, direction):
        msg = f"{backend} cannot be benchmarked in direction {direction!r}"
        raise ValueError(msg)
    data = _inputs(case, direction)
    if backend == "numpy":
        return _numpy(case, data)
    if backend == "torch":
        return _torch(case, data, direction)
    if backend == "jax":
        return _jax(case, data, direction)
    msg = f"unknown backend {backend!r}; expected numpy, torch or jax"
    raise ValueError(msg)


def _numpy(case: Case, data: dict[str, np.ndarray]) -> dict[str, Runner]:
    import torch

    from lucid import ops

    lucid_op, reference = getattr(ops, case.op), native_op("torch", case.op)
    x, w, b = data["x"], data["w"], data["b"]

    def native() -> Any:
        tx, tw, tb = (torch.from_numpy(a) for a in (x, w, b))
        return reference(tx, tw, tb, **case.kwargs).numpy()

    return {"lucid": lambda: lucid_op(x, w, b, **case.kwargs), "native": native}


def _torch(case: Case, data: dict[str, np.ndarray], direction: str) -> dict[str, Runner]:
    import torch

    from lucid import ops

    grad = direction == "forward+backward"
    x, w, b = (torch.from_numpy(data[k]).requires_grad_(grad) for k in ("x", "w", "b"))
    gy = torch.from_numpy(data["gy"]) if grad else None

    def runner(op: Callable[..., Any]) -> Runner:
        if not grad:
            return lambda: op(x, w, b, **case.kwargs)

        def forward_backward() -> Any:
            y = op(x, w, b, **case.kwargs)
            return torch.autograd.grad(y, (x, w, b), gy)

        return forward_backward

    return {"lucid": runner(getattr(ops, case.op)), "native": runner(native_op("torch", case.op))}


def _jax(case: Case, data: dict[str, np.ndarray], direction: str) -> dict[str, Runner]:
    import functools

    import jax
    import jax.numpy as jnp

    from lucid import ops

    x, w, b = (jnp.asarray(data[k]) for k in ("x", "w", "b"))
    gy = jnp.asarray(data["gy"]) if "gy" in data else None

    def runner(op: Callable[..., Any]) -> Runner:
        f = functools.partial(op, **case.kwargs)
        if direction == "forward":
            compiled = jax.jit(f)
            return lambda: jax.block_until_ready(compiled(x, w, b))

        @jax.jit
        def forward_backward(x: Any, w: Any, b: Any, gy: Any) -> Any:
            y, vjp = jax.vjp(f, x, w, b)
            return y, vjp(gy)

        return lambda: jax.block_until_ready(forward_backward(x, w, b, gy))

    return {"lucid": runner(getattr(ops, case.op)), "native": runner(native_op("jax", case.op))}


def build_floor(backend: str, case: Case) -> dict[str, Runner]:
    """One callable per layout of ``matmul_layouts(case)``: only its matrix products.

    The operands are random float32 arrays of exactly the layout's shapes, made and
    moved to the backend here, so a call times the products and nothing else.
    """
    rng = np.random.default_rng(2)
    runners = {}
    for name, products in matmul_layouts(case).items():
        operands = [
            (rng.standard_normal(a, dtype=np.float32), rng.standard_normal(b, dtype=np.float32))
            for a, b in products
        ]
        runners[name] = _products(backend, operands)
    return runners


def _products(backend: str, operands: list[tuple[np.ndarray, np.ndarray]]) -> Runner:
    """A callable computing ``a @ b`` for every pair, with ``backend``'s matmul."""
    if backend == "numpy":
        return lambda: [a @ b for a, b in operands]
    if backend == "torch":
        import torch

        pairs = [(torch.from_numpy(a), torch.from_numpy(b)) for a, b in operands]

        def products() -> Any:
            with torch.no_grad():
                return [a @ b for a, b in pairs]

        return products
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        # Operands go in as arguments: closed over, XLA could fold the products away.
        arrays = [(jnp.asarray(a), jnp.asarray(b)) for a, b in operands]
        compiled = jax.jit(lambda pairs: [a @ b for a, b in pairs])
        return lambda: jax.block_until_ready(compiled(arrays))
    msg = f"unknown backend {backend!r}; expected numpy, torch or jax"
    raise ValueError(msg)


def eager_jax_forward(case: Case) -> Runner:
    """lucid's forward on JAX without ``jax.jit``: one dispatch per array operation.

    Only for the peak-memory comparison: eagerly, every intermediate is freed as soon
    as Python drops it, where under ``jax.jit`` XLA decides what stays alive.
    """
    import jax
    import jax.numpy as jnp

    from lucid import ops

    data = _inputs(case, "forward")
    x, w, b = (jnp.asarray(data[k]) for k in ("x", "w", "b"))
    op = getattr(ops, case.op)
    return lambda: jax.block_until_ready(op(x, w, b, **case.kwargs))


def matmul_gflops(backend: str, size: int = 2048, repeats: int = 7) -> float:
    """The backend's float32 ``size``-cubed matmul rate (median of ``repeats``), GFLOP/s."""
    import time

    rng = np.random.default_rng(1)
    a_np = rng.standard_normal((size, size), dtype=np.float32)
    b_np = rng.standard_normal((size, size), dtype=np.float32)
    if backend == "numpy":
        run: Runner = lambda: a_np @ b_np  # noqa: E731
    elif backend == "torch":
        import torch

        a_t, b_t = torch.from_numpy(a_np), torch.from_numpy(b_np)
        run = lambda: a_t @ b_t  # noqa: E731
    else:
        import jax
        import jax.numpy as jnp

        a_j, b_j = jnp.asarray(a_np), jnp.asarray(b_np)
        mm = jax.jit(jnp.matmul)
        run = lambda: jax.block_until_ready(mm(a_j, b_j))  # noqa: E731
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return 2.0 * size**3 / float(np.median(times)) / 1e9
