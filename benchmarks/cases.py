"""The fixed benchmark suite: realistic convolution layers, float32.

The core of the suite is ``conv_transpose2d``; the encoder side (``conv2d``) and the
1-D and 3-D family have rows of their own, summarised separately.

A :class:`~lucid._cli._case.Case` is plain data, so the suite can be filtered by name on the command
line and sent to a memory-measuring subprocess as JSON.
"""

from __future__ import annotations

import math

from lucid._cli._case import Case

__all__ = ["MEMORY_CASE", "QUICK", "SUITE", "Case", "Product", "matmul_layouts", "select"]

#: One matrix product as the shapes of its two operands, broadcast as ``numpy.matmul``
#: broadcasts them: ``(*batch, m, k) @ (*batch, k, n)``.
Product = tuple[tuple[int, ...], tuple[int, ...]]


def matmul_layouts(case: Case) -> dict[str, list[Product]]:
    """Ways to lay out ``case``'s forward FLOPs as matrix products, by name.

    Each layout's products multiply-add exactly :meth:`Case.flops` worth of numbers,
    on operands as a formulation would have them after all of its copies: timing
    only these products gives a floor for any formulation built on matmul.  With
    groups, the group is a leading batch axis.  Transposed convolutions:

    * ``columns``: ``(N*P_in, Cin) @ (Cin, Cout*T)``, every tap of every input pixel;
    * ``channels-first``: ``(Cout*T, Cin) @ (N, Cin, P_in)``;
    * ``phase``: ``stride**d`` products ``(N*P_out/stride**d, Cin*T/stride**d) @
      (Cin*T/stride**d, Cout)``, one per output phase; only where each phase owns
      ``T/stride**d`` taps and ``P_in`` pixels (else it would count border taps).

    Forward convolutions: ``windows``, ``(N*P_out, Cin*T) @ (Cin*T, Cout)``, and
    ``channels-first``, ``(Cout, Cin*T) @ (N, Cin*T, P_out)``.  Here ``T`` is the
    taps, ``P_in`` and ``P_out`` the input and output pixels, ``d`` the spatial dims.

    >>> vae = Case("vae", 4, 128, 64, (8, 8), 4, 2, 1)
    >>> matmul_layouts(vae)["columns"]
    [((256, 128), (128, 1024))]
    >>> len(matmul_layouts(vae)["phase"]), matmul_layouts(vae)["phase"][0]
    (4, ((256, 512), (512, 64)))
    """
    g, n, d = case.groups, case.n, len(case.size)
    c_in, c_out, taps = case.c_in // g, case.c_out // g, case.kernel**d
    p_in, p_out = math.prod(case.size), math.prod(case.output_size)
    batch = (g,) if g > 1 else ()
    # A weight shared by the N images: batch axis 1, broadcast against N.
    shared = (g, 1) if g > 1 else ()
    if not case.transposed:
        return {
            "windows": [((*batch, n * p_out, c_in * taps), (*batch, c_in * taps, c_out))],
            "channels-first": [((*shared, c_out, c_in * taps), (*batch, n, c_in * taps, p_out))],
        }
    layouts = {
        "columns": [((*batch, n * p_in, c_in), (*batch, c_in, c_out * taps))],
        "channels-first": [((*shared, c_out * taps, c_in), (*batch, n, c_in, p_in))],
    }
    phases = case.stride**d
    if taps % phases == 0 and p_out == phases * p_in:
        k = c_in * taps // phases
        layouts["phase"] = [((*batch, n * p_out // phases, k), (*batch, k, c_out))] * phases
    return layouts


#: The default suite, named after the layers they stand for.
SUITE: tuple[Case, ...] = (
    Case("vae", 4, 128, 64, (8, 8), 4, stride=2, padding=1),
    Case("dcgan", 64, 256, 128, (8, 8), 4, stride=2, padding=1),
    Case("unet", 8, 256, 128, (32, 32), 2, stride=2),
    Case("same", 8, 64, 64, (32, 32), 3, padding=1),
    Case("grouped", 8, 128, 128, (32, 32), 3, stride=2, padding=1, output_padding=1, groups=32),
    Case("dilated", 8, 64, 64, (32, 32), 3, padding=2, dilation=2),
    Case("large", 1, 64, 32, (128, 128), 4, stride=2, padding=1),
    Case("tiny", 1, 4, 4, (4, 4), 3),
    # The encoder side and the 1-D / 3-D family (summarised per op).
    Case("enc-same", 8, 64, 64, (32, 32), 3, padding=1, op="conv2d"),
    Case("enc-down", 8, 64, 128, (32, 32), 4, stride=2, padding=1, op="conv2d"),
    Case("audio-up", 8, 64, 32, (1024,), 4, stride=2, padding=1, op="conv_transpose1d"),
    Case("audio-down", 8, 32, 64, (2048,), 4, stride=2, padding=1, op="conv1d"),
    Case("volume-up", 2, 32, 16, (8, 16, 16), 4, stride=2, padding=1, op="conv_transpose3d"),
    Case("volume-down", 2, 16, 32, (16, 32, 32), 3, stride=2, padding=1, op="conv3d"),
)

#: ``--quick``: two cheap shapes, enough to show the harness works.
QUICK: tuple[Case, ...] = tuple(c for c in SUITE if c.name in ("vae", "tiny"))

#: ``--memory``: a large image whose full column buffer (16x the input) would be 2 GiB.
MEMORY_CASE = Case("memory", 1, 64, 32, (1024, 1024), 4, stride=2, padding=1)


def select(names: str | None, quick: bool) -> tuple[Case, ...]:
    """The cases named in the comma-separated ``names`` (default: the whole suite).

    >>> [c.name for c in select("tiny,vae", quick=False)]
    ['tiny', 'vae']
    """
    pool = QUICK if quick and names is None else SUITE
    if names is None:
        return pool
    by_name = {c.name: c for c in SUITE}
    chosen = [n.strip() for n in names.split(",") if n.strip()]
    unknown = [n for n in chosen if n not in by_name]
    if unknown:
        msg = f"unknown shapes {unknown}; choose from {sorted(by_name)}"
        raise ValueError(msg)
    return tuple(by_name[n] for n in chosen)
