"""The bulk writers' pieces that need no database: the binary stream one PostgreSQL COPY reads."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from data_access import bulk, pg_binary, schema


def frame(rows: int) -> pd.DataFrame:
    return pd.DataFrame({
        "payer_sk": np.arange(1, rows + 1),
        "payer_id": [f"id-{i}" for i in range(rows)],
        "name": [None if i % 3 == 0 else f'Payer "{i}", Ünïcode' for i in range(rows)],
    })


@pytest.mark.parametrize("chunk_rows, read_size", [(1, 1), (2, 7), (3, 1000), (250_000, 5)])
def test_the_copy_stream_is_the_whole_frame_as_one_copy_whatever_the_chunks_and_reads(monkeypatch, chunk_rows,
                                                                                       read_size):
    monkeypatch.setattr(bulk, "CHUNK_ROWS", chunk_rows)
    data = frame(10)
    stream = bulk._CopyStream(schema.payers, data)
    pieces = list(iter(lambda: stream.read(read_size), b""))
    whole = pg_binary.SIGNATURE + bytes(pg_binary.encode(schema.payers, data)) + pg_binary.TRAILER
    assert b"".join(pieces) == whole
    assert all(0 < len(piece) <= read_size for piece in pieces)
    assert stream.read(read_size) == b""


def test_an_empty_frame_is_an_empty_copy():
    stream = bulk._CopyStream(schema.payers, frame(0))
    assert stream.read() == pg_binary.SIGNATURE + pg_binary.TRAILER
