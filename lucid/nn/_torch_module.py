"""lucid modules as ``torch.nn.Module``s: :func:`to_torch`.

torch's own machinery (``torch.func.functional_call``, ``torch.func.stack_module_state``,
``torch.nn.utils``, hooks, ``Module.to``) accepts only ``torch.nn.Module`` instances and
reads and swaps their ``_parameters`` and ``_buffers`` dictionaries.  A lucid module
keeps its arrays in dictionaries of the same name, so the view :func:`to_torch` returns
*shares* them instead of copying: whatever torch writes there (a functional call's
tensors, a moved parameter, an optimizer's in-place step) is what the lucid module
computes with, and a BatchNorm's new running statistics appear on both.  torch is
imported only when :func:`to_torch` is called.

A view of a module with lazy parameters anywhere inside is a torch lazy module
(``torch.nn.modules.lazy.LazyModuleMixin``), because that is what ``torch.compile``
recognises: before tracing the first call it hands the module the (fake) input to
materialise on, so the first call compiles with ``fullgraph=True`` too.  The view
materialises by running the lucid module once, eagerly and in eval mode (no running
statistic changes, no random draws but the weights'), on zeros shaped like that input.
"""

from __future__ import annotations

import functools
from typing import Any, cast

from .lazy import LazyModuleMixin
from .module import Module

__all__ = ["to_torch"]


def to_torch(module: Module) -> Any:
    """``module`` as a ``torch.nn.Module`` that shares its parameters and buffers.

    The result is called like ``module`` and works wherever torch expects its own
    modules: ``torch.func.functional_call`` (and so ``torch.func.grad``/``vmap``/
    ``jacrev`` over parameters), ``torch.func.stack_module_state``, ``torch.optim``,
    ``state_dict``, ``torch.compile``.  Submodules are viewed the same way, under
    the same names.  The structure is read once: add submodules to the lucid module
    before converting it.

    Parameters
    ----------
    module : lucid.nn.Module
        Moved to PyTorch first (in place, as ``module.to('torch')`` does).

    Examples
    --------
    >>> import torch
    >>> import lucid, lucid.nn as nn
    >>> lucid.manual_seed(0)
    >>> model = nn.to_torch(nn.ConvTranspose2d(4, 2, 3, stride=2))
    >>> isinstance(model, torch.nn.Module), [name for name, _ in model.named_parameters()]
    (True, ['weight', 'bias'])
    >>> x = torch.ones(1, 4, 3, 3)
    >>> params = {name: torch.zeros_like(p) for name, p in model.named_parameters()}
    >>> float(torch.func.functional_call(model, params, (x,)).abs().sum())
    0.0
    >>> grads = torch.func.grad(
    ...     lambda p: torch.func.functional_call(model, p, (x,)).sum()
    ... )(dict(model.named_parameters()))
    >>> tuple(grads["weight"].shape)
    (4, 2, 3, 3)
    """
    if not isinstance(module, Module):
        msg = f"to_torch expects a lucid.nn.Module, got {type(module).__name__}"
        raise TypeError(msg)
    return _view(module.to("torch"))


def _view(module: Module) -> Any:
    view_class, lazy_view_class = _view_classes()
    view = (lazy_view_class if _has_lazy_parameters(module) else view_class)(module)
    for name, child in module.named_children():
        view._modules[name] = _view(child)
    return view


def _has_lazy_parameters(module: Module) -> bool:
    return any(
        isinstance(m, LazyModuleMixin) and m.has_uninitialized_params() for m in module.modules()
    )


@functools.cache
def _view_classes() -> tuple[type, type]:
    import torch
    from torch.nn.modules.lazy import LazyModuleMixin as TorchLazyModuleMixin

    class LucidModule(torch.nn.Module):
        """A lucid module seen by torch: the same parameter and buffer dictionaries."""

        lucid_module: Module

        def __init__(self, module: Module) -> None:
            super().__init__()
            state = module.__dict__
            self.__dict__["lucid_module"] = module  # not a submodule: torch must not recurse
            self.__dict__["_parameters"] = state["_parameters"]
            self.__dict__["_buffers"] = state["_buffers"]
            self.__dict__["_non_persistent_buffers_set"] = state["_non_persistent_buffers"]
            self.training = module.training  # not train(): the children keep their modes

        def forward(self, *args: Any, **kwargs: Any) -> Any:
            return self.lucid_module(*args, **kwargs)

        def train(self, mode: bool = True) -> Any:
            super().train(mode)
            self.lucid_module.train(mode)
            return self

        def extra_repr(self) -> str:
            return type(self.lucid_module).__name__

    class LazyLucidModule(TorchLazyModuleMixin, LucidModule):
        """The view of a module whose parameters are made on its first call.

        Eager calls materialise in lucid's own first call (whose output is connected to
        the new parameters); torch's lazy-module hooks are not installed.
        """

        cls_to_become = LucidModule

        def __init__(self, module: Module) -> None:
            LucidModule.__init__(self, module)  # not torch's mixin's: no torch hooks
            self._initialize_hook = None  # what torch.compile looks for in a lazy module

        def _infer_parameters(self, module: Any, args: Any, kwargs: Any = None) -> None:
            kwargs = kwargs or {}

            # Called by torch.compile before tracing, with fake tensors: run once on zeros.
            def real(value: Any) -> Any:
                if isinstance(value, torch.Tensor):
                    return torch.zeros(value.shape, dtype=value.dtype, device=value.device)
                return value

            lucid_module = self.lucid_module
            modes = [(m, m.training) for m in lucid_module.modules()]
            lucid_module.eval()
            try:
                with torch.no_grad():
                    lucid_module(*map(real, args), **{k: real(v) for k, v in kwargs.items()})
            finally:
                for m, training in modes:
                    m.training = training
            self._become_eager()

        def forward(self, *args: Any, **kwargs: Any) -> Any:
            output = self.lucid_module(*args, **kwargs)
            self._become_eager()
            return output

        def _become_eager(self) -> None:
            for view in self.modules():
                if isinstance(view, LazyLucidModule) and not view.has_uninitialized_params():
                    view.__dict__.pop("_initialize_hook", None)
                    view.__class__ = cast(Any, LucidModule)

        def has_uninitialized_params(self) -> bool:
            return _has_lazy_parameters(self.lucid_module)

        def initialize_parameters(self, *args: Any, **kwargs: Any) -> None:
            self._infer_parameters(self, args, kwargs)

    return LucidModule, LazyLucidModule
