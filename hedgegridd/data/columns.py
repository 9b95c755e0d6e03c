"""``Columns``: the normalized chunk type, equal-length numpy arrays by name.

A pandas DataFrame built from arrays copies same-dtype columns into 2-D blocks;
at millions of rows per chunk that copy cost as much as validating. ``Columns``
holds the arrays as they are and offers just what the pipeline needs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd


class Columns:
    """Named, equal-length 1-D numpy arrays (a minimal, copy-free table)."""

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, np.ndarray]) -> None:
        lengths = {len(v) for v in data.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns of different lengths: {sorted(lengths)}")
        self._data = data

    def __len__(self) -> int:
        return len(next(iter(self._data.values()))) if self._data else 0

    def __getitem__(self, name: str) -> np.ndarray:
        return self._data[name]

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(name) from None

    def __contains__(self, name: object) -> bool:
        return name in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    @property
    def columns(self) -> list[str]:
        """Column names in order."""
        return list(self._data)

    def take(self, rows: np.ndarray | slice) -> Columns:
        """Rows selected by a boolean mask, an index array or a slice."""
        return Columns({k: v[rows] for k, v in self._data.items()})

    @staticmethod
    def concat(parts: Sequence[Columns]) -> Columns:
        """Rows of ``parts`` one after the other (same column names)."""
        names = parts[0].columns
        return Columns({n: np.concatenate([p[n] for p in parts]) for n in names})

    def to_frame(self) -> pd.DataFrame:
        """A pandas DataFrame copy (for inspection and tests)."""
        return pd.DataFrame(self._data)
