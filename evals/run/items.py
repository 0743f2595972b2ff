"""Items of a run as a lazy sequence over the task's `datasets.Dataset`: rows are turned into dicts when they
are asked for, so a 100,000-item run does not hold every document in Python objects at once."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, overload


class DatasetItems(Sequence[dict[str, Any]]):
    def __init__(self, dataset: Any, batch_size: int = 1024):
        self._dataset = dataset
        self._batch_size = batch_size

    def __len__(self) -> int:
        return len(self._dataset)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                return [self[i] for i in range(start, stop, step)]
            # One batched read: a row at a time costs about a millisecond each on an Arrow-backed dataset.
            return _rows(self._dataset[start:stop]) if stop > start else []
        return dict(self._dataset[index])

    def ids(self) -> list[str]:
        """Every item id, read from the id column alone (the documents are not decoded)."""
        column = self._dataset.select_columns(["id"]).with_format("arrow")["id"]  # one Arrow take, no row dicts
        return [str(x) for x in column.to_pylist()]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        # Batched reads are much faster than one row at a time on an Arrow-backed dataset.
        for batch in self._dataset.iter(batch_size=self._batch_size):
            yield from _rows(batch)


def _rows(batch: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """A columnar batch ({column: values}) as row dicts."""
    keys = list(batch)
    return [dict(zip(keys, values, strict=True)) for values in zip(*(batch[k] for k in keys), strict=True)]
