"""Turning benchmark rows into Markdown: the table, geometric means, the machine."""

from __future__ import annotations

import math
import os
import platform
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from lucid._cli.report import package_version

__all__ = [
    "Row",
    "geomean",
    "machine_lines",
    "memory_table",
    "package_version",
    "summary_table",
    "timing_table",
]

_MIB = 1024 * 1024


@dataclass
class Row:
    """One (shape, direction, backend) measurement; times are median seconds per call.

    ``floor_s`` is the matrix products alone (forward rows only), in the layout of
    ``floor_layout``, the fastest of :func:`~benchmarks.cases.matmul_layouts`.
    """

    case: str
    shape: str
    direction: str
    backend: str
    lucid_s: float
    native_s: float
    flops: float
    matmul_gflops: float
    repeats: int
    lucid_peak: int | None = None
    native_peak: int | None = None
    op: str = "conv_transpose2d"
    floor_s: float | None = None
    floor_layout: str | None = None

    @property
    def ratio(self) -> float:
        return self.lucid_s / self.native_s

    @property
    def floor_ratio(self) -> float | None:
        """Matmul floor over native; ``None`` where no floor was timed."""
        return None if self.floor_s is None else self.floor_s / self.native_s

    @property
    def lucid_gflops(self) -> float:
        return self.flops / self.lucid_s / 1e9

    @property
    def native_gflops(self) -> float:
        return self.flops / self.native_s / 1e9

    def to_json(self) -> dict[str, Any]:
        """The fields, plus ``floor_over_native`` as the table shows it."""
        return {**asdict(self), "floor_over_native": self.floor_ratio}


def geomean(values: Iterable[float]) -> float:
    """Geometric mean.

    >>> round(geomean([0.5, 2.0]), 6)
    1.0
    """
    logs = [math.log(v) for v in values]
    return math.exp(sum(logs) / len(logs)) if logs else float("nan")


def _mib(n: int | None) -> str:
    return "n/a" if n is None else f"{n / _MIB:.1f}"


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def timing_table(rows: list[Row]) -> list[str]:
    """The per-shape Markdown table."""
    lines = [
        "| shape | layer | direction | backend | lucid ms | native ms | lucid/native "
        "| matmul floor / native | GFLOP/s lucid / native | lucid % of matmul "
        "| peak MiB lucid / native |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.case} | {r.shape} | {r.direction} | {r.backend} "
            f"| {r.lucid_s * 1e3:.3f} | {r.native_s * 1e3:.3f} | **{r.ratio:.2f}** "
            f"| {_ratio(r.floor_ratio)} | {r.lucid_gflops:.1f} / {r.native_gflops:.1f} "
            f"| {100 * r.lucid_gflops / r.matmul_gflops:.0f}% "
            f"| {_mib(r.lucid_peak)} / {_mib(r.native_peak)} |"
        )
    return lines


def summary_table(rows: list[Row]) -> list[str]:
    """Geometric means and worst ratio per (op, backend, direction)."""
    lines = [
        "| op | backend | direction | geomean lucid/native | geomean matmul floor / native "
        "| worst shape | shapes |",
        "|---|---|---|---:|---:|---|---:|",
    ]
    groups: dict[tuple[str, str, str], list[Row]] = {}
    for r in rows:
        groups.setdefault((r.op, r.backend, r.direction), []).append(r)
    for (op, backend, direction), group in groups.items():
        worst = max(group, key=lambda r: r.ratio)
        floors = [r.floor_ratio for r in group if r.floor_ratio is not None]
        lines.append(
            f"| {op} | {backend} | {direction} | **{geomean(r.ratio for r in group):.2f}** "
            f"| {_ratio(geomean(floors) if floors else None)} "
            f"| {worst.case} ({worst.ratio:.2f}) | {len(group)} |"
        )
    return lines


def memory_table(shape: str, peaks: dict[str, int | None], reference: str) -> list[str]:
    """Peak RSS growth per candidate for the large-input memory case."""
    ref = peaks.get(reference)
    lines = [
        f"Peak RSS growth of one forward call, {shape}, each in a fresh process:",
        "",
        f"| candidate | peak MiB | vs {reference} |",
        "|---|---:|---:|",
    ]
    for name, peak in peaks.items():
        versus = "n/a" if peak is None or not ref else f"{peak / ref:.2f}x"
        lines.append(f"| {name} | {_mib(peak)} | {versus} |")
    return lines


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> str:
    try:
        with open("/proc/meminfo") as info:
            kib = int(info.readline().split()[1])
        return f"{kib / 1024**2:.0f} GiB"
    except (OSError, ValueError, IndexError):
        return "unknown"


def machine_lines() -> list[str]:
    """Where the numbers came from: CPU, cores, memory, library versions, thread knobs."""
    blas_env = {k: v for k, v in os.environ.items() if k.startswith(("OPENBLAS", "OMP", "MKL"))}
    return [
        f"- CPU: {_cpu_model()}, {os.cpu_count()} logical cores, {_memory_gib()} RAM, "
        f"{platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}; numpy {package_version('numpy')}, "
        f"torch {package_version('torch')}, jax {package_version('jax')}"
        f"/jaxlib {package_version('jaxlib')}, "
        f"array-api-compat {package_version('array-api-compat')}, "
        f"array-api-extra {package_version('array-api-extra')}, "
        f"lucid {package_version('lucid-nn')}",
        f"- BLAS/threading environment: {blas_env or 'none of OPENBLAS_*, OMP_*, MKL_* set'}",
    ]
