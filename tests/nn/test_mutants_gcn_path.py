"""Mutation kill tests for :mod:`sgtk.nn.gcn_path`, the path-graph GCN layer in blocks of rows.

Every result is checked in float64 against a dense Â built from the same bands, with bands
that are not symmetric (so Â and Âᵀ differ) and non-zero in the two slots a path never reads
(``lower[0]``, ``upper[-1]``): a shifted band, a lost halo row, a block edge read twice, the
bias folded in twice or a gradient from the wrong side all change a number. The huge-page
advice is checked through a recorder in place of ``madvise``."""

from __future__ import annotations

import ctypes

import pytest
import torch

from sgtk.nn import gcn_path
from sgtk.nn.gcn_path import PathConv

# A scratch buffer too small (or of the wrong shape) for its block makes torch resize the output
# it is given, with a warning: the block no longer runs in its cache-sized buffer.
pytestmark = pytest.mark.filterwarnings("error:An output with one or more elements was resized")


def _bands(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    lower, diag, upper = torch.rand(3, n, generator=g, dtype=torch.double) + 0.5
    bands = torch.stack([lower, diag, upper])
    return bands, torch.stack([torch.roll(upper, 1), diag, torch.roll(lower, -1)])


def _dense(bands: torch.Tensor) -> torch.Tensor:
    lower, diag, upper = bands
    return torch.diag(diag) + torch.diag(lower[1:], -1) + torch.diag(upper[:-1], 1)


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(gcn_path, "_BLOCK_BYTES", 1)  # 64-row blocks: small graphs cross several


@pytest.mark.parametrize("n", [1, 2, 63, 64, 65, 130, 200])
@pytest.mark.parametrize("fin,fout", [(3, 5), (5, 3), (4, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_path_conv_equals_dense_forward_and_backward(small_blocks, n, fin, fout, bias):
    torch.manual_seed(n)
    bands, bands_t = _bands(n, n)
    x = torch.randn(n, fin, dtype=torch.double, requires_grad=True)
    w = torch.randn(fout, fin, dtype=torch.double, requires_grad=True)
    b = torch.randn(fout, dtype=torch.double, requires_grad=True) if bias else None
    out = PathConv.apply(x, w, b, bands, bands_t)
    want = _dense(bands) @ x @ w.t() + (0 if b is None else b)
    torch.testing.assert_close(out, want)
    g = torch.randn_like(want)
    leaves = [t for t in (x, w, b) if t is not None]
    for ours, ref in zip(
        torch.autograd.grad((out * g).sum(), leaves), torch.autograd.grad((want * g).sum(), leaves)
    ):
        torch.testing.assert_close(ours, ref)


@pytest.mark.parametrize("fin,fout", [(3, 5), (5, 3)])
@pytest.mark.parametrize("wanted", ["x", "w", "b", "xw", "xb", "wb"])
def test_only_the_gradients_asked_for_and_each_right(small_blocks, fin, fout, wanted):
    n = 150
    bands, bands_t = _bands(n, 1)
    torch.manual_seed(1)
    x = torch.randn(n, fin, dtype=torch.double, requires_grad="x" in wanted)
    w = torch.randn(fout, fin, dtype=torch.double, requires_grad="w" in wanted)
    b = torch.randn(fout, dtype=torch.double, requires_grad="b" in wanted)
    g = torch.randn(n, fout, dtype=torch.double)
    leaves = [t for t in (x, w, b) if t.requires_grad]
    ours = torch.autograd.grad((PathConv.apply(x, w, b, bands, bands_t) * g).sum(), leaves)
    ref = torch.autograd.grad(((_dense(bands) @ x @ w.t() + b) * g).sum(), leaves)
    for a, r in zip(ours, ref, strict=True):
        torch.testing.assert_close(a, r)


@pytest.mark.parametrize("fin,fout", [(3, 5), (5, 3)])
def test_only_x_gradient_without_bias(small_blocks, fin, fout):
    bands, bands_t = _bands(100, 3)
    x = torch.randn(100, fin, dtype=torch.double, requires_grad=True)
    w = torch.randn(fout, fin, dtype=torch.double)
    g = torch.randn(100, fout, dtype=torch.double)
    (ours,) = torch.autograd.grad((PathConv.apply(x, w, None, bands, bands_t) * g).sum(), x)
    (want,) = torch.autograd.grad(((_dense(bands) @ x @ w.t()) * g).sum(), x)
    torch.testing.assert_close(ours, want)


@pytest.mark.parametrize("bias", [True, False])
def test_propagate_and_tridiagonal_into(small_blocks, bias):
    n = 70
    bands, _ = _bands(n, 2)
    x = torch.randn(n, 3, dtype=torch.double)
    b = torch.randn(3, dtype=torch.double) if bias else None
    want = _dense(bands) @ x + (0 if b is None else b)
    torch.testing.assert_close(gcn_path.propagate(bands, x, b), want)
    out = torch.full((n, 3), 7.0, dtype=torch.double)
    assert gcn_path.tridiagonal_into(bands, x, out, b) is out
    torch.testing.assert_close(out, want)
    # float32 features take the bands in their own dtype
    got = gcn_path.propagate(bands, x.float())
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, (_dense(bands) @ x).float())


def test_blocks_fit_the_scratch_budget():
    blocks, rows = gcn_path._blocks(10_000, 16, 8)
    assert rows == (512 << 10) // (16 * 8) == 4096
    assert list(blocks) == [(0, 4096), (4096, 8192), (8192, 10_000)]
    blocks, rows = gcn_path._blocks(50, 16, 8)  # fewer rows than a block
    assert rows == 50 and list(blocks) == [(0, 50)]
    blocks, rows = gcn_path._blocks(200, 10_000, 8)  # a wide row: never under 64 rows
    assert rows == 64 and list(blocks) == [(0, 64), (64, 128), (128, 192), (192, 200)]


class _Recorder:
    def __init__(self):
        self.calls: list[tuple[int, int, int]] = []

    def __call__(self, start, length, advice):
        self.calls.append((start, length, advice))
        return 0


@pytest.fixture
def madvise(monkeypatch):
    rec = _Recorder()
    monkeypatch.setattr(gcn_path, "_madvise", lambda: rec)
    return rec


def test_large_cpu_outputs_advised_huge_pages_on_whole_aligned_pages(madvise):
    like = torch.zeros(1, dtype=torch.float32)
    rows = (8 << 20) // (4 * 1024)  # exactly the threshold
    out = gcn_path.empty_rows(rows, 1024, like)
    assert out.shape == (rows, 1024) and out.dtype == torch.float32
    (start, length, advice), page = madvise.calls[0], 2 << 20
    assert advice == 14 and start % page == 0 and length % page == 0 and length > 0
    begin, end = out.data_ptr(), out.data_ptr() + (8 << 20)
    assert begin <= start < begin + page and end - page < start + length <= end
    assert len(madvise.calls) == 1


def test_small_outputs_not_advised(madvise):
    out = gcn_path.empty_rows(2047, 1024, torch.zeros(1, dtype=torch.float32))  # 4 KiB short
    assert out.shape == (2047, 1024) and madvise.calls == []
    out = gcn_path.empty_rows(3, 2, torch.zeros(1, dtype=torch.float64))
    assert out.dtype == torch.float64 and madvise.calls == []


def test_madvise_found_on_linux_and_absent_elsewhere(monkeypatch):
    gcn_path._madvise.cache_clear()
    try:
        fn = gcn_path._madvise()
        assert fn is not None and fn.restype is ctypes.c_int
        assert fn.argtypes == [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        gcn_path._madvise.cache_clear()
        monkeypatch.setattr(gcn_path.sys, "platform", "darwin")
        assert gcn_path._madvise() is None
        gcn_path._madvise.cache_clear()
        monkeypatch.setattr(gcn_path.sys, "platform", "linux")

        def refuse(*args, **kwargs):
            raise OSError("no libc")

        monkeypatch.setattr(gcn_path.ctypes, "CDLL", refuse)
        assert gcn_path._madvise() is None
    finally:
        gcn_path._madvise.cache_clear()


def test_madvise_absent_from_the_c_library(monkeypatch):
    gcn_path._madvise.cache_clear()
    monkeypatch.setattr(gcn_path.sys, "platform", "linux")
    monkeypatch.setattr(gcn_path.ctypes, "CDLL", lambda *a, **k: object())  # no madvise
    try:
        assert gcn_path._madvise() is None
    finally:
        gcn_path._madvise.cache_clear()
