"""``python -m benchmarks.layers``: lucid's convolutions against each backend's native ops.

For every shape of the suite, backend and direction, lucid and the native op run
interleaved and the medians' ratio lucid/native is reported, with GFLOP/s, the share
of the backend's own large-matmul rate, and peak memory (RSS growth of one call in a
fresh process).  Forward rows also time a matmul floor alongside: just the matrix
products of the layer's FLOPs, in the fastest of a few layouts, on ready operands.
``--memory`` instead compares peak memory on one large image.

Examples
--------
``python -m benchmarks.layers``                       the full suite, every installed backend
``python -m benchmarks.layers --quick``               two shapes, a short budget (CI smoke)
``python -m benchmarks.layers --backend torch --shapes vae,tiny --direction forward``
``python -m benchmarks.layers --memory``              peak memory on 1x64x1024x1024, k4 s2 p1
``python -m benchmarks.layers --markdown benchmarks/results/latest.md --json results.json``
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

from lucid.ops._ct_forward import FORMULATIONS

from .cases import MEMORY_CASE, Case, select
from .report import Row, machine_lines, memory_table, summary_table, timing_table

__all__ = ["main"]

BACKENDS = ("numpy", "torch", "jax")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.layers",
        description="Benchmark lucid's convolutions against the native ops.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("Examples\n--------\n", 1)[1],
    )
    parser.add_argument(
        "--backend",
        action="append",
        choices=BACKENDS,
        help="benchmark this backend (repeatable); default: every installed one",
    )
    parser.add_argument("--shapes", help="comma-separated shape names; default: the suite")
    parser.add_argument(
        "--direction",
        choices=("forward", "forward+backward", "both"),
        default="both",
        help="forward only, forward+backward only, or both (default)",
    )
    parser.add_argument("--quick", action="store_true", help="two shapes, short budget")
    parser.add_argument(
        "--budget", type=float, default=None, help="seconds of timing per row (default 2.5)"
    )
    parser.add_argument("--repeat", type=int, default=None, help="exactly this many rounds")
    parser.add_argument(
        "--no-memory", action="store_true", help="skip the per-shape peak-memory processes"
    )
    parser.add_argument(
        "--memory", action="store_true", help="only the large-image peak-memory comparison"
    )
    parser.add_argument("--markdown", help="also write the report to this Markdown file")
    parser.add_argument("--json", help="also write the raw rows to this JSON file")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="intra-op threads for every backend (default: each library's own); "
        "1 gives stable numbers on a busy machine",
    )
    parser.add_argument(
        "--formulation",
        choices=FORMULATIONS,
        help="force one of lucid's formulations (development; default: lucid chooses)",
    )
    return parser


def _installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def _backends(chosen: list[str] | None) -> list[str]:
    if not _installed("torch"):
        # torch's op is the reference for NumPy and the native op for PyTorch.
        msg = "the benchmarks need torch (pip install torch==2.13.0)"
        raise SystemExit(msg)
    names = chosen or [b for b in BACKENDS if _installed(b)]
    missing = [b for b in names if not _installed(b)]
    if missing:
        msg = f"backends {missing} are not installed"
        raise SystemExit(msg)
    return list(dict.fromkeys(names))


def _progress(tasks: list[Any], enabled: bool, desc: str) -> Iterator[Any]:
    if enabled:
        try:
            from tqdm import tqdm
        except ImportError:
            pass
        else:
            bar = tqdm(tasks, desc=desc, unit="row", file=sys.stderr, dynamic_ncols=True)
            for task in bar:
                bar.set_postfix_str("/".join(str(t) for t in task[:3]))
                yield task
            return
    for i, task in enumerate(tasks, 1):
        if enabled:
            print(f"[{i}/{len(tasks)}] {desc}: {task[:3]}", file=sys.stderr, flush=True)
        yield task


def _check_agreement(fns: dict[str, Any], backend: str) -> None:
    """Refuse to time two candidates that do not compute the same thing."""
    import numpy as np

    def first_array(out: Any) -> np.ndarray:
        while isinstance(out, (tuple, list)):
            out = out[0]
        if backend == "torch":
            return out.detach().numpy()
        return np.asarray(out)

    got, want = first_array(fns["lucid"]()), first_array(fns["native"]())
    scale = max(float(np.max(np.abs(want))), 1e-30) if want.size else 1.0
    error = float(np.max(np.abs(got - want))) if want.size else 0.0
    if got.shape != want.shape or error > 1e-4 * scale:
        msg = (
            f"lucid and native disagree on {backend}: shape {got.shape} vs {want.shape}, "
            f"error {error:.3g}"
        )
        raise AssertionError(msg)


def _fastest_layout(backend: str, case: Case, rounds: int) -> tuple[str, Callable[[], Any]]:
    """The name and callable of ``case``'s fastest matmul layout, by a short timing.

    Only the winner is timed against lucid and native afterwards: timing every layout
    there would cost a candidate each for what one short look settles.
    """
    from lucid._cli._timing import interleaved_medians

    from .backends import build_floor

    layouts = build_floor(backend, case)
    medians = interleaved_medians(layouts, repeats=rounds)
    best = min(medians, key=lambda name: medians[name]["median"])
    return best, layouts[best]


def _time_rows(args: argparse.Namespace, backends: list[str], cases: tuple[Case, ...]) -> list[Row]:
    from lucid._cli._timing import interleaved_medians

    from .backends import DIRECTIONS, build, has_direction, matmul_gflops

    directions = DIRECTIONS if args.direction == "both" else (args.direction,)
    tasks = [
        (backend, case.name, direction, case)
        for backend in backends
        for case in cases
        for direction in directions
        if has_direction(backend, direction)
    ]
    budget = args.budget if args.budget is not None else (0.3 if args.quick else 2.5)
    matmul: dict[str, float] = {}
    rows = []
    for backend, _, direction, case in _progress(tasks, not args.no_progress, "timing"):
        if backend not in matmul:
            matmul[backend] = matmul_gflops(backend, size=512 if args.quick else 2048)
        fns = build(backend, case, direction)
        _check_agreement(fns, backend)
        layout = None
        if direction == "forward":
            layout, fns["floor"] = _fastest_layout(backend, case, rounds=1 if args.quick else 3)
        stats = interleaved_medians(
            fns,
            budget_s=budget,
            min_repeats=1 if args.quick else 5,
            repeats=args.repeat,
            # The floor runs along: lucid and native get as many samples as without it.
            paced_by=("lucid", "native"),
        )
        factor = 3.0 if direction == "forward+backward" else 1.0  # dx and dw cost a forward each
        rows.append(
            Row(
                case=case.name,
                shape=case.describe(),
                direction=direction,
                backend=backend,
                lucid_s=stats["lucid"]["median"],
                native_s=stats["native"]["median"],
                flops=factor * case.flops(),
                matmul_gflops=matmul[backend],
                repeats=int(stats["lucid"]["repeats"]),
                op=case.op,
                floor_s=stats["floor"]["median"] if layout is not None else None,
                floor_layout=layout,
            )
        )
    return rows


def _add_peaks(rows: list[Row], cases: tuple[Case, ...], show_progress: bool) -> None:
    from .memory import measure_in_subprocess

    jobs = sorted({(r.backend, c) for r in rows for c in ("lucid", "native")})
    by_name = {c.name: c for c in cases}
    for backend, candidate in _progress(jobs, show_progress, "peak memory"):
        mine = [r for r in rows if r.backend == backend]
        used = [by_name[n] for n in dict.fromkeys(r.case for r in mine)]
        directions = list(dict.fromkeys(r.direction for r in mine))
        peaks = measure_in_subprocess(backend, candidate, used, directions)
        for r in mine:
            setattr(r, f"{candidate}_peak", peaks.get(f"{r.case}/{r.direction}"))


def _memory_report(backends: list[str], show_progress: bool) -> tuple[list[str], dict[str, Any]]:
    from .memory import measure_in_subprocess

    # NumPy's native reference is torch's op, which the torch row already measures.
    jobs = [(b, "lucid") for b in backends]
    # Under jax.jit XLA decides what stays alive; eagerly, Python frees as it goes.
    jobs += [(b, "lucid-eager") for b in backends if b == "jax"]
    jobs += [(b, "native") for b in backends if b != "numpy"]
    labels = {"lucid": "lucid on {}", "lucid-eager": "lucid on {}, eager", "native": "native {}"}
    peaks: dict[str, int | None] = {}
    for backend, candidate in _progress(jobs, show_progress, "peak memory"):
        key = f"{MEMORY_CASE.name}/forward"
        label = labels[candidate].format(backend)
        peaks[label] = measure_in_subprocess(backend, candidate, [MEMORY_CASE], ["forward"])[key]
    out = MEMORY_CASE.output_size
    lines = memory_table(MEMORY_CASE.describe(), peaks, "native torch")
    lines += [
        "",
        f"(input {_mib_of(MEMORY_CASE.input_shape)} MiB, output "
        f"{_mib_of((MEMORY_CASE.n, MEMORY_CASE.c_out, *out))} MiB, full column buffer "
        f"{_mib_of((MEMORY_CASE.kernel**2, MEMORY_CASE.c_out, *MEMORY_CASE.size))} MiB, float32)",
    ]
    return lines, {"memory_case": MEMORY_CASE.to_json(), "peaks": peaks}


def _mib_of(shape: tuple[int, ...]) -> int:
    size = 4
    for n in shape:
        size *= n
    return size // (1024 * 1024)


_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _limit_threads(
    threads: int, argv: list[str], command: tuple[str, ...] = ("benchmarks.layers",)
) -> None:
    """Pin every library to ``threads`` intra-op threads by re-running with them set.

    On an oversubscribed machine OpenMP workers of torch and OpenBLAS wait for
    descheduled siblings and a 1 ms op can take 40 ms; fixing the count makes the
    comparison about the algorithms, not the scheduler.  BLAS reads these variables
    when it loads (NumPy is already loaded here), hence the re-exec; the memory
    workers inherit them.
    """
    if all(os.environ.get(var) == str(threads) for var in _THREAD_VARS):
        return
    for var in _THREAD_VARS:
        os.environ[var] = str(threads)
    if threads == 1:
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = f"{flags} --xla_cpu_multi_thread_eigen=false".strip()
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, "-m", *command, *argv])


def main(argv: list[str]) -> int:
    """Run the benchmarks; print a Markdown report; 0 on success."""
    args = _parser().parse_args(argv)
    if args.threads is not None:
        _limit_threads(args.threads, argv)
    if args.formulation is not None:
        from lucid.ops._ct_forward import _FORCED

        _FORCED.set(args.formulation)
    backends = _backends(args.backend)
    show = not args.no_progress
    command = " ".join(["python -m benchmarks.layers", *argv])
    if args.memory:
        lines, raw = _memory_report(backends, show)
    else:
        cases = select(args.shapes, args.quick)
        rows = _time_rows(args, backends, cases)
        if not args.no_memory:
            _add_peaks(rows, cases, show)
        lines = [
            "Median time per call, lucid and the native op interleaved; ratio < 1 means lucid "
            "is faster. Peak memory is the RSS growth of one call in a fresh process.",
            "",
            "Matmul floor / native: the forward's FLOPs as bare matrix products on ready "
            "operands (fastest of a few GEMM layouts, timed alongside) over the native op; "
            "near or above 1, no formulation built on matmul can beat the native op by much.",
            "",
            *timing_table(rows),
            "",
            *summary_table(rows),
        ]
        raw = {"rows": [r.to_json() for r in rows]}
    report = [*lines, "", f"Command: `{command}`", "", "Machine:", "", *machine_lines()]
    print("\n".join(report))
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("\n".join(report) + "\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"command": command, **raw}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
