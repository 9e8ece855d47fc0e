"""The bulk writers' pieces that need no database: the CSV stream one PostgreSQL COPY reads."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pyarrow.csv as pa_csv
import pytest

from data_access import bulk, schema


def frame(rows: int) -> pd.DataFrame:
    return pd.DataFrame({
        "payer_sk": np.arange(1, rows + 1),
        "payer_id": [f"id-{i}" for i in range(rows)],
        "name": [None if i % 3 == 0 else f'Payer "{i}", Ünïcode' for i in range(rows)],
    })


def one_shot(data: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    pa_csv.write_csv(bulk._arrow_table(schema.payers, data), buffer, pa_csv.WriteOptions(include_header=False))
    return buffer.getvalue()


@pytest.mark.parametrize("chunk_rows, read_size", [(1, 1), (2, 7), (3, 1000), (250_000, 5)])
def test_the_copy_stream_is_the_whole_frame_as_one_csv_whatever_the_chunks_and_reads(monkeypatch, chunk_rows,
                                                                                      read_size):
    monkeypatch.setattr(bulk, "CHUNK_ROWS", chunk_rows)
    data = frame(10)
    stream = bulk._CsvStream(schema.payers, data)
    pieces = list(iter(lambda: stream.read(read_size), b""))
    assert b"".join(pieces) == one_shot(data)
    assert all(0 < len(piece) <= read_size for piece in pieces)
    assert stream.read(read_size) == b""
