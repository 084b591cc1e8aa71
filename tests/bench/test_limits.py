"""The GCN limit row's reference: a same-run clone into fresh memory allocated as the layer's
output is, with the warm ``copy_`` and ``torch.clone`` rates of the same run kept beside it."""

import pytest
import torch

from sgtk.bench import limits
from sgtk.bench.core import Sizes, check_row
from sgtk.nn import gcn_path


@pytest.fixture
def allocations(monkeypatch):
    """Shapes passed to :func:`gcn_path.empty_rows` from now on."""
    seen: list[tuple[int, int]] = []
    real = gcn_path.empty_rows

    def spy(rows, cols, like):
        seen.append((rows, cols))
        return real(rows, cols, like)

    monkeypatch.setattr(gcn_path, "empty_rows", spy)
    return seen


def test_fresh_copy_allocates_its_destination_like_the_layer_on_every_call(allocations):
    nbytes = 1 << 20
    fn = limits.fresh_copy_fn(nbytes, torch.device("cpu"))
    first, second = fn(), fn()
    assert allocations == [(nbytes // 256, 64)] * 2
    assert first.data_ptr() != second.data_ptr()  # both alive: two fresh buffers
    torch.testing.assert_close(first, torch.ones(nbytes // 256, 64))


def test_gcn_rows_divide_by_the_fresh_clone_and_keep_the_warm_copy(monkeypatch, allocations):
    """Each of the five timings lands in its own field: layer forward, backward, the fresh
    clone (the reference), the warm copy_ and torch.clone (in ``shape``)."""
    times = [2.0, 4.0, 0.5, 0.25, 1.0]
    ran: list[object] = []

    def fake_time_many(fns, device, repeats, warmup=2):
        ran.extend(fn() for fn in fns)  # each runs once, so the allocations are seen
        return times

    monkeypatch.setattr(limits, "time_many", fake_time_many)
    s = Sizes(path_nodes=300, repeats=1)
    fwd, bwd = limits.gcn_limit_rows(s, torch.device("cpu"))
    copy_bytes = 32 << 20
    assert (copy_bytes // 256, 64) in allocations  # the clone's destination, as the layer's
    fresh, warm, clone = (2 * copy_bytes / t / 1e9 for t in times[2:])
    fwd_bytes, bwd_bytes = limits.gcn_layer_bytes(300, 16, 64)
    for row, nbytes, secs in ((fwd, fwd_bytes, 2.0), (bwd, bwd_bytes, 4.0)):
        check_row(row)
        assert row.ours == pytest.approx(nbytes / secs / 1e9)
        assert row.reference == pytest.approx(fresh)
        assert "fresh memory" in row.ref_name and "copy_" in row.ref_name
        assert row.shape["warm_copy_GBs"] == pytest.approx(warm)
        assert row.shape["torch_clone_GBs"] == pytest.approx(clone)
        assert row.shape["ratio_to_warm_copy"] == pytest.approx(row.ours / warm)
