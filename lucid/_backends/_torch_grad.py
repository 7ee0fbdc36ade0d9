"""The ``torch.autograd.Function`` that gives PyTorch lucid's custom gradients.

A module of its own, imported only when the arrays are torch tensors: the class is
defined at import, outside any trace, so ``torch.compile`` meets a finished
``Function`` (it cannot trace a class definition).
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["CustomGradFunction"]


class CustomGradFunction(torch.autograd.Function):
    """``fwd(x, weight, bias)`` with ``bwd`` as its backward.

    ``bwd`` is built from differentiable torch ops, so double backward works, and
    ``generate_vmap_rule`` lets ``torch.func.vmap`` batch it.  No ``jvp`` method:
    Dynamo refuses to trace a ``Function`` that has one.
    """

    generate_vmap_rule = True

    @staticmethod
    def forward(x: Any, weight: Any, bias: Any, fwd: Any, bwd: Any) -> Any:
        return fwd(x, weight, bias)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
        x, weight, _, _, bwd = inputs
        ctx.save_for_backward(x, weight)
        ctx.bwd = bwd

    @staticmethod
    def backward(ctx: Any, gy: Any) -> tuple[Any, ...]:
        x, weight = ctx.saved_tensors
        needs = tuple(bool(n) for n in ctx.needs_input_grad[:3])
        dx, dw, db = ctx.bwd(x, weight, gy, needs)
        return dx, dw, db, None, None
