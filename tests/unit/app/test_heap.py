"""The allocator's side of issue 15: glibc's arenas capped and freed heap handed back, where glibc is the libc;
nothing at all (and no error) where it is not, or when the settings turn them off."""

from __future__ import annotations

import asyncio
import platform

import pytest

from ocigate.app import heap

GLIBC = platform.libc_ver()[0] == "glibc"


def test_zero_arenas_leaves_glibc_alone() -> None:
    assert heap.limit_arenas(0) is False


@pytest.mark.skipif(not GLIBC, reason="mallopt and malloc_trim are glibc's")
def test_on_glibc_the_arenas_are_capped_and_the_heap_trimmed() -> None:
    assert heap.limit_arenas(2) is True
    blocks = [bytearray(200_000) for _ in range(50)]  # freed below, leaving pages to give back
    del blocks
    assert isinstance(heap.trim_heap(), bool)


async def test_the_trimmer_trims_until_cancelled() -> None:
    task = asyncio.create_task(heap.trim_every(0.005))
    await asyncio.sleep(0.05)  # several trims: none of them fails
    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
