"""Beyond one machine: time and memory against the number of Dask workers and JAX devices.

``python benchmarks/scale.py`` (about two minutes) prints two Markdown tables:

* Dask: a k4 s2 transposed convolution whose 512 MiB output exceeds each worker's
  300 MiB, reduced per channel on a ``LocalCluster`` of 1, 2 and 4 single-thread
  workers: wall time (median of 3) and the peak RSS of each worker.
* JAX: the same layer jitted with a batch sharded over 1, 2 and 4 simulated CPU
  devices: wall time (median of 5) and the compiled bytes per device.

Simulated devices and workers share this machine's cores, so time cannot fall below
the one-core cost divided by the cores; memory per worker and device is the point.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # run from a checkout: lucid is imported from it

LIMIT = 300 * 2**20


def _layer_data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 8, 128, 128)).astype(np.float32)
    w = (rng.standard_normal((8, 32, 4, 4)) / 8).astype(np.float32)
    return x, w, rng.standard_normal(32).astype(np.float32)


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


def _peak() -> int:
    with open("/proc/self/status") as status:
        return 1024 * int(next(x for x in status if x.startswith("VmHWM:")).split()[1])


def dask_rows() -> list[str]:
    import dask.array as da
    import distributed

    from lucid import ops

    x, w, b = _layer_data()
    rows = []
    for workers in (1, 2, 4):
        with (
            distributed.LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                memory_limit=LIMIT,
                dashboard_address=None,
                silence_logs=40,
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            chunked = client.scatter(x)  # the data on a worker, not in the graph
            array = da.from_delayed(chunked, x.shape, x.dtype).rechunk((4, 8, 128, 128))
            y = ops.conv_transpose2d(array, w, b, stride=2, padding=1)
            client.run(_reset_peak)  # a forked worker inherits its parent's peak
            times = []
            for _ in range(3):
                start = time.perf_counter()
                y.sum(axis=(0, 2, 3)).compute()
                times.append(time.perf_counter() - start)
            peaks = client.run(_peak)
        worst = max(peaks.values()) / 2**20
        rows.append(
            f"| {workers} | {statistics.median(times):.2f} s ({min(times):.2f}-{max(times):.2f})"
            f" | {worst:.0f} MiB | {y.nbytes >> 20} MiB |"
        )
    return rows


def jax_rows() -> list[str]:
    script = """
import statistics, time, numpy as np, jax
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from lucid import ops
rng = np.random.default_rng(1)
x = rng.standard_normal((32, 8, 64, 64)).astype(np.float32)
w = (rng.standard_normal((8, 32, 4, 4)) / 8).astype(np.float32)
layer = jax.jit(lambda x, w: ops.conv_transpose2d(x, w, stride=2, padding=1))
for n in (1, 2, 4):
    sharding = NamedSharding(Mesh(np.array(jax.devices()[:n]), ("d",)), PartitionSpec("d"))
    xs = jax.device_put(x, sharding)
    m = layer.lower(xs, w).compile().memory_analysis()
    per_device = m.argument_size_in_bytes + m.output_size_in_bytes + m.temp_size_in_bytes
    layer(xs, w).block_until_ready()
    times = []
    for _ in range(5):
        start = time.perf_counter(); layer(xs, w).block_until_ready()
        times.append(time.perf_counter() - start)
    print(f"| {n} | {1e3 * statistics.median(times):.1f} ms "
          f"({1e3 * min(times):.1f}-{1e3 * max(times):.1f}) | {per_device / 2**20:.1f} MiB |")
"""
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4"}
    env["PYTHONPATH"] = ROOT
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip().splitlines()


def main() -> None:
    print("Dask, LocalCluster, 1 thread and 300 MiB per worker, 64x8x128² -> 64x32x256²\n")
    print("| workers | time (median, min-max) | peak RSS, worst worker | output |")
    print("|---:|---|---:|---:|")
    print("\n".join(dask_rows()))
    print("\nJAX, jit, batch sharded over simulated CPU devices, 32x8x64² -> 32x32x128²\n")
    print("| devices | time (median, min-max) | compiled bytes per device |")
    print("|---:|---|---:|")
    print("\n".join(jax_rows()))


if __name__ == "__main__":
    main()
