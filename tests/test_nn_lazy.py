"""LazyConvTranspose2d: materialisation from inputs and state dicts, atomic failures, threads."""

from __future__ import annotations

import copy
import doctest
import math
import pickle
import threading
import time

import array_api_compat
import numpy as np
import pytest
import torch

import lucid
import lucid.nn as nn
from lucid._backends import backend_of, to_numpy
from lucid.nn._conv_base import _LazyConvMixin
from lucid.testing import assert_close


def state_of(module):
    return {k: np.array(to_numpy(v)) for k, v in module.state_dict().items()}


def torch_forward(module, x):
    with torch.no_grad():
        return module(torch.from_numpy(np.asarray(x, dtype=np.float64))).numpy()


def assert_unmaterialized(m, cls=nn.LazyConvTranspose2d):
    assert type(m) is cls
    assert m.weight is None and m.bias is None and m.in_channels is None
    assert m.has_uninitialized_params()
    assert list(m.parameters()) == [] and dict(m.state_dict()) == {}


def test_before_materialization():
    m = nn.LazyConvTranspose2d(out_channels=64, kernel_size=4, stride=2, padding=1)
    assert_unmaterialized(m)
    assert isinstance(m, nn.ConvTranspose2d)
    assert (
        repr(m)
        == "LazyConvTranspose2d(None, 64, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1))"
    )
    assert (m.out_channels, m.kernel_size, m.stride, m.padding) == (64, (4, 4), (2, 2), (1, 1))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("batched", [True, False])
def test_first_forward_materializes(backend, dtype, batched):
    config = {"kernel_size": 3, "stride": 2, "padding": 1, "output_padding": 1, "groups": 2}
    m = nn.LazyConvTranspose2d(out_channels=6, **config)
    data = np.random.default_rng(0).standard_normal((2, 4, 5, 5) if batched else (4, 5, 5))
    x = backend.asarray(data, dtype=dtype)
    y = m(x)
    assert type(m) is nn.ConvTranspose2d  # exactly the eager class now
    assert m.in_channels == 4
    assert tuple(m.weight.shape) == (4, 3, 3, 3) and tuple(m.bias.shape) == (6,)
    for p in m.parameters():
        assert array_api_compat.array_namespace(p) is backend.xp
        assert p.dtype == x.dtype
        assert array_api_compat.device(p) == array_api_compat.device(x)
    reference = torch.nn.ConvTranspose2d(4, 6, **config).double()
    reference.load_state_dict(
        {k: torch.from_numpy(v.astype(np.float64)) for k, v in state_of(m).items()}
    )
    assert_close(y, torch_forward(reference, data.astype(dtype)), backend=backend, dtype=dtype)
    eager = nn.ConvTranspose2d(4, 6, **config)
    assert repr(m) == repr(eager) == repr(reference)
    assert list(m.state_dict()) == list(eager.state_dict()) == list(reference.state_dict())


def test_materialized_module_behaves_like_eager(backend):
    m = nn.LazyConvTranspose2d(5, 3)
    x = backend.asarray(np.ones((1, 2, 4, 4)))
    m(x)
    eager = nn.ConvTranspose2d(2, 5, 3).to(backend.name, dtype="float64")
    eager.load_state_dict(m.state_dict())
    assert m.__dict__.keys() == eager.__dict__.keys()
    assert_close(m(x), backend.to_numpy(eager(x)), backend=backend)


def test_seed_gives_same_lazy_weights_on_every_backend(backend):
    lucid.manual_seed(17)
    m = nn.LazyConvTranspose2d(6, (3, 2), groups=3)
    m(backend.asarray(np.zeros((1, 9, 2, 2)), dtype="float32"))
    rng = np.random.default_rng(17)
    bound = 1 / math.sqrt(2 * 3 * 2)  # torch: fan_in = out_channels / groups * KH * KW
    np.testing.assert_array_equal(
        state_of(m)["weight"], rng.uniform(-bound, bound, (9, 2, 3, 2)).astype(np.float32)
    )
    np.testing.assert_array_equal(
        state_of(m)["bias"], rng.uniform(-bound, bound, 6).astype(np.float32)
    )


def test_explicit_dtype(backend):
    m = nn.LazyConvTranspose2d(4, 3, dtype="float64")
    with pytest.raises(TypeError, match=r"constructed for .*dtype='float64'"):
        m(backend.asarray(np.ones((1, 2, 3, 3)), dtype="float32"))
    assert_unmaterialized(m)
    m(backend.asarray(np.ones((1, 2, 3, 3)), dtype="float64"))
    assert str(m.weight.dtype).endswith("float64")


def test_later_input_from_elsewhere_is_a_type_error(backend):
    m = nn.LazyConvTranspose2d(4, 3)
    m(backend.asarray(np.ones((1, 2, 3, 3)), dtype="float32"))
    other = "numpy" if backend.name != "numpy" else "torch"
    x = lucid.zeros(1, 2, 3, 3, backend=other)
    with pytest.raises(
        TypeError, match=rf"live in {backend.name} \(float32, cpu\).*\.to\('{other}'\)"
    ):
        m(x)
    with pytest.raises(TypeError, match=r"\.to\(dtype='float64'\)"):
        m(backend.asarray(np.ones((1, 2, 3, 3)), dtype="float64"))
    m.to(other)
    assert m(x).shape[1] == 4


@pytest.mark.parametrize(
    ("shape", "error", "message"),
    [
        ((2, 3), ValueError, r"4-D \(N, C_in, \*spatial\) or 3-D"),
        ((1, 1, 2, 3, 3), ValueError, "got 5-D input"),
        ((1, 3, 4, 4), ValueError, "divisible by groups=2"),
        ((1, 0, 4, 4), ValueError, "must be positive"),
    ],
)
def test_bad_first_input_leaves_module_lazy(backend, shape, error, message):
    m = nn.LazyConvTranspose2d(4, 3, groups=2)
    with pytest.raises(error, match=message):
        m(backend.asarray(np.zeros(shape)))
    assert_unmaterialized(m)


def test_non_floating_or_non_array_first_input(backend):
    m = nn.LazyConvTranspose2d(4, 3)
    with pytest.raises(TypeError, match="real floating input"):
        m(backend.asarray(np.zeros((1, 2, 3, 3), dtype=np.int32)))
    with pytest.raises(TypeError, match="expects an array"):
        m([[[[1.0]]]])
    assert_unmaterialized(m)


def test_to_before_materialization_places_the_parameters(backend):
    m = nn.LazyConvTranspose2d(4, 3).to(backend.name, dtype="float64")
    assert_unmaterialized(m)
    other = "numpy" if backend.name != "numpy" else "torch"
    with pytest.raises(TypeError, match=rf"placed on backend '{backend.name}'"):
        m(lucid.zeros(1, 2, 3, 3, backend=other, dtype="float64"))
    assert_unmaterialized(m)
    m(backend.asarray(np.zeros((1, 2, 3, 3))))
    assert backend_of(m.weight) == backend_of(backend.asarray([0.0]))


# --- state dicts -------------------------------------------------------------------------


@pytest.mark.parametrize("bias", [True, False])
def test_load_torch_state_dict_materializes(backend, bias):
    reference = torch.nn.ConvTranspose2d(6, 8, (3, 4), stride=2, groups=2, bias=bias).double()
    m = nn.LazyConvTranspose2d(8, (3, 4), stride=2, groups=2, bias=bias).to(backend.name)
    result = m.load_state_dict(reference.state_dict())
    assert repr(result) == "<All keys matched successfully>"
    assert type(m) is nn.ConvTranspose2d
    assert m.in_channels == 6  # torch leaves 0 here (pytorch#73009)
    assert (m.bias is None) == (not bias)
    for key, value in reference.state_dict().items():
        assert_close(getattr(m, key), value.numpy(), backend=backend, dtype="float64")
    x = np.random.default_rng(3).standard_normal((2, 6, 4, 4))
    assert_close(m(backend.asarray(x)), torch_forward(reference, x), backend=backend)


def test_torch_leaves_in_channels_zero():
    # the fault lucid fixes, shown on torch itself
    lazy = torch.nn.LazyConvTranspose2d(8, 3)
    lazy.load_state_dict(torch.nn.ConvTranspose2d(6, 8, 3).state_dict())
    assert lazy.in_channels == 0
    mine = nn.LazyConvTranspose2d(8, 3)
    mine.load_state_dict(torch.nn.ConvTranspose2d(6, 8, 3).state_dict())
    assert mine.in_channels == 6


def test_load_state_dict_of_the_module_itself(backend):
    m = nn.LazyConvTranspose2d(4, 3)
    m(backend.asarray(np.ones((1, 5, 3, 3))))
    n = nn.LazyConvTranspose2d(4, 3)
    n.load_state_dict(m.state_dict())
    assert n.in_channels == 5
    assert backend_of(n.weight) == backend_of(m.weight)
    x = backend.asarray(np.random.default_rng(0).standard_normal((1, 5, 3, 3)))
    np.testing.assert_array_equal(backend.to_numpy(n(x)), backend.to_numpy(m(x)))


def _good_state(cin=4, cout=6, groups=2, k=(3, 3)):
    return {
        "weight": np.ones((cin, cout // groups, *k)),
        "bias": np.zeros(cout),
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"weight": np.ones((4, 3, 3))},
            r"must be 4-D \(in_channels, out_channels // groups, K_H, K_W\)",
        ),
        (
            {"weight": np.ones((4, 6, 3, 3))},
            r"weight.shape\[1\] = 6 but out_channels // groups = 3",
        ),
        ({"weight": np.ones((4, 3, 2, 3))}, r"kernel_size=\(3, 3\)"),
        ({"weight": np.ones((5, 3, 3, 3))}, "divisible by groups=2"),
        ({"bias": np.zeros(5)}, r"size mismatch for bias"),
        ({"bias": [0.0] * 6}, "expected an array from checkpoint"),
        ({"weight": "nope"}, "expected an array from checkpoint"),
        ({"extra": np.zeros(1)}, r'Unexpected key\(s\) in state_dict: "extra"'),
        ({"bias": None}, r'Missing key\(s\) in state_dict: "bias"'),
        ({"weight": None}, r'without "weight"'),
    ],
)
def test_failed_load_changes_nothing(backend, change, message):
    state = {**_good_state(), **change}
    state = {k: v for k, v in state.items() if v is not None}
    state = {k: backend.asarray(v) if isinstance(v, np.ndarray) else v for k, v in state.items()}
    m = nn.LazyConvTranspose2d(6, 3, groups=2)
    before = dict(m.__dict__), dict(m._parameters)
    with pytest.raises(RuntimeError, match=message) as info:
        m.load_state_dict(state)
    assert str(info.value).startswith("Error(s) in loading state_dict for LazyConvTranspose2d:")
    assert_unmaterialized(m)
    assert (dict(m.__dict__), dict(m._parameters)) == before
    m.load_state_dict({k: backend.asarray(v) for k, v in _good_state().items()})  # still usable
    assert m.in_channels == 4


def test_failed_load_in_a_container_changes_nothing(backend):
    model = nn.Sequential(nn.LazyConvTranspose2d(6, 3), nn.ReLU(), nn.LazyConvTranspose2d(2, 3))
    state = {
        "0.weight": backend.asarray(np.ones((4, 6, 3, 3))),
        "0.bias": backend.asarray(np.ones(6)),
        "2.weight": backend.asarray(np.ones((6, 2, 3))),  # wrong rank: the whole load fails
        "2.bias": backend.asarray(np.ones(2)),
    }
    with pytest.raises(RuntimeError, match=r"2\.weight"):
        model.load_state_dict(state)
    assert_unmaterialized(model[0])
    assert_unmaterialized(model[2])


def test_non_strict_load_reports_keys(backend):
    m = nn.LazyConvTranspose2d(6, 3)
    result = m.load_state_dict(
        {"weight": backend.asarray(np.ones((2, 6, 3, 3))), "junk": backend.asarray(np.ones(1))},
        strict=False,
    )
    assert result.missing_keys == ["bias"] and result.unexpected_keys == ["junk"]
    assert m.in_channels == 2 and tuple(m.bias.shape) == (6,)  # bias initialised
    assert np.abs(to_numpy(m.bias)).max() <= 1 / math.sqrt(6 * 9)
    n = nn.LazyConvTranspose2d(6, 3)
    assert n.load_state_dict({}, strict=False).missing_keys == ["weight", "bias"]
    assert_unmaterialized(n)


def test_strict_missing_keys_match_torch_wording():
    theirs = torch.nn.ConvTranspose2d(2, 3, 3)
    with pytest.raises(RuntimeError) as torch_error:
        theirs.load_state_dict({"weight": theirs.weight.detach()})
    mine = nn.ConvTranspose2d(2, 3, 3)
    with pytest.raises(RuntimeError) as lucid_error:
        mine.load_state_dict({"weight": np.zeros((2, 3, 3, 3), dtype=np.float32)})
    assert str(lucid_error.value) == str(torch_error.value)


# --- threads, copies, doc examples -------------------------------------------------------


def test_two_threads_materialize_exactly_once(backend, monkeypatch):
    calls = []
    original = _LazyConvMixin._lazy_create

    def slow_create(self, x):
        calls.append(threading.get_ident())
        time.sleep(0.05)  # wide race window: both threads are past the first check
        return original(self, x)

    monkeypatch.setattr(_LazyConvMixin, "_lazy_create", slow_create)
    m = nn.LazyConvTranspose2d(4, 3)
    x = backend.asarray(np.random.default_rng(0).standard_normal((1, 2, 5, 5)))
    barrier = threading.Barrier(2)
    outputs, errors = [], []

    def run():
        barrier.wait()
        try:
            outputs.append(backend.to_numpy(m(x)))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(calls) == 1
    np.testing.assert_array_equal(outputs[0], outputs[1])


def test_copies_of_a_lazy_module(backend):
    m = nn.LazyConvTranspose2d(4, 3, stride=2)
    for clone in (copy.deepcopy(m), pickle.loads(pickle.dumps(m)), copy.copy(m)):
        clone(backend.asarray(np.ones((1, 3, 2, 2))))
        assert clone.in_channels == 3 and type(clone) is nn.ConvTranspose2d
        assert_unmaterialized(m)
    m(backend.asarray(np.ones((1, 3, 2, 2))))
    clone = pickle.loads(pickle.dumps(m))
    assert type(clone) is nn.ConvTranspose2d and clone.in_channels == 3
    np.testing.assert_array_equal(state_of(clone)["weight"], state_of(m)["weight"])


DOC_EXAMPLES = """
>>> import lucid
>>> import lucid.nn as nn
>>> decoder = nn.LazyConvTranspose2d(
... out_channels=64, kernel_size=4, stride=2, padding=1
... )
>>> z = lucid.zeros(4, 128, 8, 8) # in_channels=128 inferred
>>> y = decoder(z)
>>> y.shape
(4, 64, 16, 16)

>>> import lucid
>>> import lucid.nn as nn
>>> lazy = nn.LazyConvTranspose2d(out_channels=32, kernel_size=3)
>>> _ = lazy(lucid.zeros(1, 64, 4, 4))
>>> print(lazy.in_channels)
64
"""


@pytest.mark.skip_backend("torch", reason="torch prints shapes as torch.Size([...]), not tuples")
def test_documentation_examples_verbatim(backend):
    test = doctest.DocTestParser().get_doctest(DOC_EXAMPLES, {}, "seed", None, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    with lucid.default_backend(backend.name):
        runner.run(test)
    assert runner.failures == 0 and runner.tries == 11


def test_documentation_examples_on_torch():
    with lucid.default_backend("torch"):
        decoder = nn.LazyConvTranspose2d(out_channels=64, kernel_size=4, stride=2, padding=1)
        y = decoder(lucid.zeros(4, 128, 8, 8))
    assert tuple(y.shape) == (4, 64, 16, 16) and decoder.in_channels == 128


@pytest.mark.parametrize(
    ("make", "shape", "kwargs"),
    [
        (lambda: nn.LazyConvTranspose2d(4, kernel_size=3, padding=5), (1, 2, 2, 2), {}),
        (lambda: nn.LazyConvTranspose2d(4, 3, stride=2), (1, 2, 4, 4), {"output_size": (20, 20)}),
        (lambda: nn.LazyConv2d(4, kernel_size=5), (2, 3, 3), {}),
        (lambda: nn.LazyConv1d(4, kernel_size=2, dilation=4), (1, 2, 4), {}),
    ],
    ids=["output-too-small", "unreachable-output_size", "conv-input-too-small", "conv1d"],
)
def test_a_first_input_the_op_rejects_leaves_the_module_unmaterialised(
    backend, make, shape, kwargs
):
    m = make()
    before = repr(m)
    x = backend.asarray(np.zeros(shape, dtype=np.float32))
    with pytest.raises(ValueError, match=r"output|output_size"):
        m(x, **kwargs)
    assert m.weight is None and m.bias is None and m.in_channels is None
    assert m.has_uninitialized_params() and repr(m) == before


LAZY_CLASSES = [
    (nn.LazyConv1d, 1),
    (nn.LazyConv2d, 2),
    (nn.LazyConv3d, 3),
    (nn.LazyConvTranspose1d, 1),
    (nn.LazyConvTranspose2d, 2),
    (nn.LazyConvTranspose3d, 3),
]


@pytest.mark.parametrize(("cls", "rank"), LAZY_CLASSES, ids=lambda v: getattr(v, "__name__", v))
def test_first_call_is_connected_to_torch_autograd(cls, rank):
    # torch's own lazy modules train from the first step; so must lucid's.
    m = cls(3, kernel_size=2)
    x = torch.randn(2, 4, *([5] * rank))
    y = m(x)
    assert y.requires_grad
    y.sum().backward()
    assert m.weight.grad is not None and m.bias.grad is not None
    assert m.weight.grad.shape == m.weight.shape
    # the gradient is the one the eager module computes with the same weights
    eager = copy.deepcopy(m)
    eager.weight.grad = eager.bias.grad = None
    eager(x).sum().backward()
    torch.testing.assert_close(m.weight.grad, eager.weight.grad)


@pytest.mark.parametrize(("cls", "rank"), LAZY_CLASSES, ids=lambda v: getattr(v, "__name__", v))
def test_rejected_first_call_consumes_no_randomness(backend, cls, rank):
    # An input too small for the kernel (for a transposed one, for its padding) is
    # refused by the first call; the weights then drawn must be a clean seeded run's.
    padding = 4 if "Transpose" in cls.__name__ else 0
    small = backend.asarray(np.ones((1, 3, *([1] * rank))), "float32")
    good = backend.asarray(np.ones((1, 3, *([9] * rank))), "float32")
    lucid.manual_seed(7)
    m = cls(2, kernel_size=3, padding=padding)
    with pytest.raises(ValueError, match="not positive"):
        m(small)
    assert m.has_uninitialized_params()
    m(good)
    lucid.manual_seed(7)
    clean = cls(2, kernel_size=3, padding=padding)
    clean(good)
    np.testing.assert_array_equal(to_numpy(m.weight), to_numpy(clean.weight))
    np.testing.assert_array_equal(to_numpy(m.bias), to_numpy(clean.bias))
