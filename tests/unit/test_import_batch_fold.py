"""An opaque region whose output batch is a multiple of its stand-in's (HaloNet's relative logits
[8, 4, 49, 121] read from tensors of batch 1 and 32) writes the batches folded into its next dim,
a reshape unfolding them (runtime/importer/emit/regions.py). Pure: no torch."""

from __future__ import annotations

import pytest

from convcost.runtime.importer.emit.regions import batch_fold, folded_shape


@pytest.mark.parametrize(("shape", "batch", "fold", "written"), [
    ((8, 4, 49, 121), 1, 8, [32, 49, 121]),  # 8·4 = 32 in dim 1, then reshape fold 8
    ((8, 4, 49, 121), 8, 1, [4, 49, 121]),  # the stand-in's batch: as before
    ((8, 4, 49, 121), 3, 1, [4, 49, 121]),  # 8 holds no whole 3: as before
    ((8,), 1, 1, []),  # no dim to fold into
    ((6, 5), 2, 3, [15]),  # 3·5
])
def test_batch_fold(shape: tuple[int, ...], batch: int, fold: int, written: list[int]) -> None:
    assert batch_fold(shape, batch) == fold
    assert folded_shape(shape, fold) == written
