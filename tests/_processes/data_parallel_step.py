"""One process of a two-process, data-parallel training step (see test_jax_processes.py).

``python data_parallel_step.py PROCESS_ID PORT OUT.npz`` joins a JAX cluster of two
processes on 127.0.0.1:PORT, takes its half of the batch, and writes the gradient of a
lucid decoder's loss over the whole (global) batch, as every process sees it.
"""

from __future__ import annotations

import sys

import numpy as np

import lucid
import lucid.nn as nn


def decoder() -> nn.Module:
    lucid.manual_seed(0)
    return nn.Sequential(
        nn.ConvTranspose2d(6, 8, 4, stride=2, padding=1),
        nn.ReLU(),
        nn.ConvTranspose2d(8, 3, 4, stride=2, padding=1),
    )


def batch() -> np.ndarray:
    return np.random.default_rng(1).standard_normal((8, 6, 5, 5)).astype(np.float32)


def loss(model: nn.Module, x: object) -> object:
    return (model(x) ** 2).mean()


def main(process_id: int, port: str, out: str) -> None:
    import jax
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    jax.distributed.initialize(
        coordinator_address=f"127.0.0.1:{port}",
        num_processes=2,
        process_id=process_id,
        local_device_ids=[0],
        initialization_timeout=60,
    )
    mesh = Mesh(np.array(jax.devices()), ("data",))
    replicated = NamedSharding(mesh, PartitionSpec())
    model = jax.device_put(decoder().to("jax"), replicated)
    half = batch()[process_id * 4 : (process_id + 1) * 4]
    x = jax.make_array_from_process_local_data(NamedSharding(mesh, PartitionSpec("data")), half)
    step = jax.jit(jax.value_and_grad(loss), out_shardings=replicated)
    value, grads = step(model, x)
    leaves = jax.tree_util.tree_leaves(grads)
    local = {f"g{i}": np.asarray(g.addressable_data(0)) for i, g in enumerate(leaves)}
    np.savez(out, loss=np.asarray(value.addressable_data(0)), **local)
    jax.distributed.shutdown()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3])
