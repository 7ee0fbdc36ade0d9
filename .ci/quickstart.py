"""Run README.md's quickstart against the *installed* lucid (CI's packaging check).

Run from anywhere: the checkout is kept off ``sys.path``, so a wheel or sdist that lacks
a file fails here.
"""

from __future__ import annotations

import doctest
import os
import re
import sys
import tempfile
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def main() -> int:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Quickstart", 1)[1]
    block = re.search(r"```python\n(.*?)```", section, re.S)
    assert block is not None, "README.md has no quickstart block"
    checkout = str(README.parent)
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != checkout]
    os.chdir(tempfile.mkdtemp())
    import lucid

    where = Path(lucid.__file__).resolve()
    source = README.parent / "lucid"
    assert source not in where.parents, f"imported the checkout, not the install: {where}"
    assert (where.parent / "py.typed").is_file(), "the installed package has no py.typed"
    test = doctest.DocTestParser().get_doctest(block.group(1), {}, "README quickstart", None, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    runner.run(test)
    print(f"quickstart: {runner.tries} examples, {runner.failures} failures, lucid from {where}")
    return 1 if runner.failures or not runner.tries else 0


if __name__ == "__main__":
    sys.exit(main())
