"""One progress rule for every background job shown on a progress page."""

import pytest

from madoguchi.exports.models import ExportJob
from madoguchi.linkage.models import Batch, ResultImport


@pytest.mark.parametrize(
    ("model", "total", "done"),
    [
        (ExportJob, "total_rows", "done_rows"),
        (Batch, "total", "done"),
        (ResultImport, "total", "done"),
    ],
)
@pytest.mark.parametrize(
    ("state", "counts", "running", "percent"),
    [
        ("queued", (0, 0), True, 0),
        ("running", (200, 50), True, 25),
        ("running", (3, 5), True, 100),  # never past 100 when the total was an estimate
        ("done", (0, 0), False, 100),  # nothing to do is done
        ("failed", (0, 0), False, 0),  # failed before counting: no bar full of nothing
        ("failed", (10, 4), False, 40),
    ],
)
def test_progress(model, total, done, state, counts, running, percent):
    job = model(state=state, **{total: counts[0], done: counts[1]})
    assert job.running is running
    assert job.percent == percent
