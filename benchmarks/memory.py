"""Peak memory of one call, as peak RSS growth in a fresh process.

Python-level tracers do not see what torch, XLA or BLAS allocate, so the operating
system is asked instead: ``VmHWM`` (peak resident set) minus ``VmRSS`` just before the
call.  Every (backend, candidate) pair runs in its own fresh interpreter so nothing
one candidate imported or cached is charged to, or hidden from, another.  Within a
process, freed heap is returned with ``malloc_trim`` and the peak is reset through
``/proc/self/clear_refs`` before each measured call, so several cases can share one
process.  Linux only: elsewhere the numbers are reported as unavailable.

Run as ``python -m benchmarks.memory '<json request>'``; prints a JSON answer.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import os
import subprocess
import sys
from typing import Any

from .cases import Case

__all__ = ["measure_in_subprocess", "peak_growth"]

_STATUS = "/proc/self/status"
# The worker runs as `python -m benchmarks.memory` from the checkout this file is in.
_CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _status_kib(field: str) -> int:
    with open(_STATUS) as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    msg = f"{field} not in {_STATUS}"
    raise OSError(msg)


def _release_and_reset_peak() -> None:
    gc.collect()
    # Give freed heap back to the OS so reuse of it shows up as growth again.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # reset VmHWM to the current RSS


def peak_growth(fn: Any) -> int:
    """Bytes by which ``fn()`` raises the peak RSS above the RSS before the call.

    The result of ``fn()`` is alive when the peak is read: the output counts.
    """
    _release_and_reset_peak()
    before = _status_kib("VmRSS")
    result = fn()
    peak = _status_kib("VmHWM")
    del result
    return max(0, peak - before) * 1024


def _worker(request: dict[str, Any]) -> dict[str, Any]:
    from .backends import build, eager_jax_forward

    out: dict[str, Any] = {}
    for case_data in request["cases"]:
        case = Case.from_json(case_data)
        for direction in request["directions"]:
            if request["candidate"] == "lucid-eager":
                fn = eager_jax_forward(case)
            else:
                fn = build(request["backend"], case, direction)[request["candidate"]]
            fn()  # warm up: JIT compilation, lazy imports, one-off caches
            out[f"{case.name}/{direction}"] = peak_growth(fn)
            del fn
    return out


def measure_in_subprocess(
    backend: str,
    candidate: str,
    cases: list[Case],
    directions: list[str],
    timeout_s: float = 900.0,
) -> dict[str, int | None]:
    """Peak RSS growth per ``"case/direction"`` of ``candidate`` in a fresh interpreter.

    Returns ``None`` values when the platform cannot measure it or the worker failed.
    """
    keys = [f"{c.name}/{d}" for c in cases for d in directions]
    if not os.path.exists("/proc/self/clear_refs"):
        return dict.fromkeys(keys)
    request = {
        "backend": backend,
        "candidate": candidate,
        "cases": [c.to_json() for c in cases],
        "directions": directions,
    }
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory", json.dumps(request)],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
        cwd=_CHECKOUT,
    )
    if proc.returncode != 0:
        sys.stderr.write(f"memory worker {backend}/{candidate} failed:\n{proc.stderr[-2000:]}\n")
        return dict.fromkeys(keys)
    answer = json.loads(proc.stdout.strip().splitlines()[-1])
    return {k: answer.get(k) for k in keys}


if __name__ == "__main__":
    print(json.dumps(_worker(json.loads(sys.argv[1]))))
