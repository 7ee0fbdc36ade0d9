"""``Sequential``: modules applied one after another."""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any, overload

from .module import Module

__all__ = ["Sequential"]


class Sequential(Module):
    """Apply modules in order; children are named ``'0'``, ``'1'``, ... (or by an OrderedDict).

    Examples
    --------
    >>> import lucid
    >>> import lucid.nn as nn
    >>> decoder = nn.Sequential(
    ...     nn.LazyConvTranspose2d(64, 4, stride=2, padding=1), nn.ReLU(),
    ...     nn.LazyConvTranspose2d(3, 4, stride=2, padding=1), nn.Tanh(),
    ... )
    >>> decoder(lucid.zeros(4, 128, 8, 8)).shape
    (4, 3, 32, 32)
    >>> decoder
    Sequential(
      (0): ConvTranspose2d(128, 64, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1))
      (1): ReLU()
      (2): ConvTranspose2d(64, 3, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1))
      (3): Tanh()
    )
    """

    def __init__(self, *args: Module | OrderedDict[str, Module]) -> None:
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for index, item in enumerate(args):
                self.add_module(str(index), item)  # type: ignore[arg-type]

    def forward(self, x: Any) -> Any:
        for module in self._modules.values():
            if module is not None:
                x = module(x)
        return x

    @overload
    def __getitem__(self, index: int) -> Module: ...

    @overload
    def __getitem__(self, index: slice) -> Sequential: ...

    def __getitem__(self, index: int | slice) -> Module | Sequential:
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(items[index]))  # type: ignore[arg-type]
        position = operator.index(index)
        if not -len(items) <= position < len(items):
            msg = f"index {position} is out of range for Sequential of length {len(items)}"
            raise IndexError(msg)
        return items[position][1]  # type: ignore[return-value]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(m for m in self._modules.values() if m is not None)

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end; returns ``self``."""
        self.add_module(str(len(self)), module)
        return self
