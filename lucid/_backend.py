"""The functions of :mod:`lucid._backends` under their former module name.

``lucid.ops`` imports ``namespace_name`` from here; new code imports ``lucid._backends``.
"""

from __future__ import annotations

from ._backends import namespace_name

__all__ = ["namespace_name"]
