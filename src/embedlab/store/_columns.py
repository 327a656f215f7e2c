"""Columnar metadata: evaluates a parsed ``where`` filter over all rows with numpy.

Each key gets dense arrays covering the rows from the first one that has the key (rows
before it, and past the last one written, read as missing):

- ``kind`` (int8): 0 missing, 1 str, 2 number, 3 bool, 4 list, 5 anything else;
- ``num`` (float64, NaN where the value is not a number), ``strc`` (int32 code into the
  key's str -> code dict, -1 elsewhere), ``boolv`` (int8, -1 elsewhere), each allocated
  the first time the key holds a value of that type;
- list elements flattened into the same typed arrays plus the row each came from.

Numbers compare as float64, which is exact because metadata ints stay within 2**53 - 1.
Appends grow arrays by doubling, so building the columns is amortised O(rows). A column
object is not synchronised: append under the writer's lock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from embedlab.errors import InvalidFilterError
from embedlab.store.filters import (
    BOOL,
    COMPARISONS,
    NUMBER,
    STR,
    And,
    Condition,
    MatchAll,
    Not,
    Operator,
    Or,
    Where,
    matches,
    scalar_class,
)

__all__ = ["MetadataColumns"]

Mask = npt.NDArray[np.bool_]
LIST, OTHER = 4, 5


class _Buffer:
    """A growable 1-D array whose unwritten slots hold a fill value."""

    __slots__ = ("data", "fill")

    def __init__(self, dtype: type[np.generic], fill: float, capacity: int) -> None:
        self.fill = fill
        self.data: npt.NDArray[Any] = np.full(capacity, fill, dtype=dtype)

    def reserve(self, size: int) -> None:
        """Make room for at least size slots (doubling, so appends stay amortised O(1))."""
        old = self.data.shape[0]
        if size > old:
            grown = np.full(max(size, 2 * old, 16), self.fill, dtype=self.data.dtype)
            grown[:old] = self.data
            self.data = grown


class _Typed:
    """Values at positions, by type class; each typed array is created on first use."""

    __slots__ = ("boolv", "capacity", "num", "strc")

    def __init__(self) -> None:
        self.capacity = 0
        self.num: _Buffer | None = None
        self.strc: _Buffer | None = None
        self.boolv: _Buffer | None = None

    def reserve(self, size: int) -> None:
        """Make room for size positions in every typed array that exists."""
        for buffer in (self.num, self.strc, self.boolv):
            if buffer is not None:
                buffer.reserve(size)
        self.capacity = max(self.capacity, size)

    def write(
        self,
        nums: tuple[list[int], list[float]],
        strs: tuple[list[int], list[int]],
        bools: tuple[list[int], list[int]],
    ) -> None:
        """Store (positions, values) pairs; positions must be below the reserved capacity."""
        if nums[0]:
            self.num = self._store(self.num, np.float64, np.nan, nums)
        if strs[0]:
            self.strc = self._store(self.strc, np.int32, -1, strs)
        if bools[0]:
            self.boolv = self._store(self.boolv, np.int8, -1, bools)

    def _store(
        self,
        buffer: _Buffer | None,
        dtype: type[np.generic],
        fill: float,
        pairs: tuple[list[int], list[Any]],
    ) -> _Buffer:
        """Write one typed array, creating it at the current capacity if needed."""
        if buffer is None:
            buffer = _Buffer(dtype, fill, self.capacity)
        buffer.reserve(self.capacity)
        buffer.data[np.asarray(pairs[0], dtype=np.int64)] = np.asarray(pairs[1], dtype=dtype)
        return buffer

    def eq(self, operand: object, size: int, codes: Mapping[str, int]) -> Mask:
        """Positions [0, size) whose value ``$eq`` operand."""
        kind = scalar_class(operand)
        if kind == STR:
            code = codes.get(operand)  # type: ignore[call-overload]
            if code is None or self.strc is None:
                return np.zeros(size, dtype=np.bool_)
            return _as_mask(self.strc.data[:size] == code)
        if kind == BOOL:
            if self.boolv is None:
                return np.zeros(size, dtype=np.bool_)
            return _as_mask(self.boolv.data[:size] == int(operand))  # type: ignore[call-overload]
        if self.num is None:
            return np.zeros(size, dtype=np.bool_)
        return _as_mask(self.num.data[:size] == float(operand))  # type: ignore[arg-type]

    def isin(self, operands: tuple[object, ...], size: int, codes: Mapping[str, int]) -> Mask:
        """Positions [0, size) whose value ``$eq`` any operand."""
        str_codes: list[int] = []
        numbers: list[float] = []
        bools: set[int] = set()
        for operand in operands:
            kind = scalar_class(operand)
            if kind == STR:
                code = codes.get(operand)  # type: ignore[call-overload]
                if code is not None:
                    str_codes.append(code)
            elif kind == BOOL:
                bools.add(int(operand))  # type: ignore[call-overload]
            else:
                numbers.append(float(operand))  # type: ignore[arg-type]
        out = np.zeros(size, dtype=np.bool_)
        if str_codes and self.strc is not None:
            codes_here = self.strc.data[:size]
            if len(str_codes) <= _FEW:
                _or_equal(out, codes_here, str_codes)
            else:  # a lookup table over codes; the extra last slot answers code -1 (not a str)
                table = np.zeros(len(codes) + 1, dtype=np.bool_)
                table[str_codes] = True
                out |= np.take(table, codes_here)
        if numbers and self.num is not None:
            numbers_here = self.num.data[:size]
            if len(numbers) <= _FEW:
                _or_equal(out, numbers_here, numbers)
            else:
                out |= np.isin(numbers_here, np.asarray(numbers, dtype=np.float64))
        if bools and self.boolv is not None:
            values = self.boolv.data[:size]
            out |= values >= 0 if len(bools) == 2 else values == bools.pop()
        return out


_FEW = 8  # up to this many $in values, comparisons beat np.isin


def _or_equal(out: Mask, values: npt.NDArray[Any], wanted: list[Any]) -> None:
    """out |= (values == w) for each w in wanted, in place."""
    for w in wanted:
        out |= values == w


def _as_mask(values: object) -> Mask:
    """The bool array a numpy comparison returned, typed as such (no copy)."""
    return np.asarray(values, dtype=np.bool_)


class _Column:
    """Everything known about one metadata key, for rows start .. start + size - 1."""

    __slots__ = ("codes", "elem_rows", "elements", "kind", "n_elements", "size", "start", "values")

    def __init__(self, start: int) -> None:
        self.start = start
        self.size = 0
        self.kind = _Buffer(np.int8, 0, 0)
        self.values = _Typed()
        self.codes: dict[str, int] = {}
        self.elem_rows = _Buffer(np.int64, -1, 0)
        self.elements = _Typed()
        self.n_elements = 0

    def write(self, rows: list[int], values: list[object]) -> None:
        """Store values at absolute rows (ascending, all past what was written before)."""
        end = rows[-1] - self.start + 1
        nums: tuple[list[int], list[float]] = ([], [])
        strs: tuple[list[int], list[int]] = ([], [])
        bools: tuple[list[int], list[int]] = ([], [])
        lists: list[int] = []
        others: list[int] = []
        e_rows: list[int] = []
        e_nums: tuple[list[int], list[float]] = ([], [])
        e_strs: tuple[list[int], list[int]] = ([], [])
        e_bools: tuple[list[int], list[int]] = ([], [])
        n_elements = self.n_elements
        add = self._add
        for row, value in zip(rows, values, strict=True):
            pos = row - self.start
            if isinstance(value, list | tuple):
                lists.append(pos)
                for element in value:
                    if add(element, n_elements, e_nums, e_strs, e_bools):
                        e_rows.append(pos)
                        n_elements += 1
            elif not add(value, pos, nums, strs, bools):
                others.append(pos)
        self.kind.reserve(end)
        self.values.reserve(end)
        for code, positions in (
            (STR, strs[0]),
            (NUMBER, nums[0]),
            (BOOL, bools[0]),
            (LIST, lists),
            (OTHER, others),
        ):
            if positions:
                self.kind.data[np.asarray(positions, dtype=np.int64)] = code
        self.values.write(nums, strs, bools)
        if e_rows:
            self.elem_rows.reserve(n_elements)
            self.elem_rows.data[self.n_elements : n_elements] = e_rows
            self.elements.reserve(n_elements)
            self.elements.write(e_nums, e_strs, e_bools)
        self.n_elements = n_elements
        self.size = end

    def _add(
        self,
        value: object,
        pos: int,
        nums: tuple[list[int], list[float]],
        strs: tuple[list[int], list[int]],
        bools: tuple[list[int], list[int]],
    ) -> bool:
        """Queue one scalar (any str / bool / number type) at pos; False if not a scalar."""
        kind = type(value)
        if kind is not str and kind is not int and kind is not float and kind is not bool:
            found = scalar_class(value)  # numpy scalars, str subclasses, or not a scalar
            if found == STR:
                value = str(value)
            elif found == BOOL:
                value = bool(value)
            elif found == NUMBER:
                value = float(value)  # type: ignore[arg-type]
            else:
                return False
            kind = type(value)
        if kind is str:
            code = self.codes.get(value)  # type: ignore[call-overload]
            if code is None:
                code = self.codes[value] = len(self.codes)  # type: ignore[index]
            strs[0].append(pos)
            strs[1].append(code)
        elif kind is bool:
            bools[0].append(pos)
            bools[1].append(1 if value else 0)
        else:
            nums[0].append(pos)
            nums[1].append(value)  # type: ignore[arg-type]
        return True

    def evaluate(self, c: Condition, size: int) -> Mask:
        """A fresh mask over this column's first size rows for one condition."""
        op, operand = c.op, c.operand
        if op is Operator.EXISTS:
            present = _as_mask(self.kind.data[:size] != 0)
            return present if operand else np.logical_not(present, out=present)
        if op is Operator.EQ or op is Operator.NE:
            out = self.values.eq(operand, size, self.codes)
            return out if op is Operator.EQ else np.logical_not(out, out=out)
        if op is Operator.IN or op is Operator.NIN:
            out = self.values.isin(operand, size, self.codes)  # type: ignore[arg-type]
            return out if op is Operator.IN else np.logical_not(out, out=out)
        if op in COMPARISONS:
            if self.values.num is None:
                return np.zeros(size, dtype=np.bool_)
            numbers = self.values.num.data[:size]
            x = float(operand)  # type: ignore[arg-type]
            if op is Operator.GT:
                return numbers > x
            if op is Operator.GTE:
                return numbers >= x
            if op is Operator.LT:
                return numbers < x
            return numbers <= x
        out = np.zeros(size, dtype=np.bool_)
        if self.n_elements:
            hit = self.elements.eq(operand, self.n_elements, self.codes)
            rows = self.elem_rows.data[: self.n_elements][hit]
            out[rows[rows < size] if size < self.size else rows] = True
        return out if op is Operator.CONTAINS else np.logical_not(out, out=out)


class MetadataColumns:
    """Metadata of rows 0 .. n-1 held column-wise, to evaluate filters with numpy.

    >>> from embedlab.store.filters import parse_where
    >>> cols = MetadataColumns.from_rows([{"lang": "en", "n": 3}, {"lang": "fr"}, {}])
    >>> cols.mask(parse_where({"lang": "en"})).tolist()
    [True, False, False]
    >>> cols.append([{"n": 7}])
    >>> cols.mask(parse_where({"n": {"$gt": 2}})).tolist()
    [True, False, False, True]
    """

    def __init__(self) -> None:
        self._n = 0
        self._columns: dict[str, _Column] = {}

    def __len__(self) -> int:
        return self._n

    @classmethod
    def from_rows(cls, rows: Sequence[Mapping[str, object]]) -> MetadataColumns:
        """Columns holding rows at positions 0 .. len(rows) - 1.

        >>> len(MetadataColumns.from_rows([{"a": 1}, {}]))
        2
        """
        columns = cls()
        columns.append(rows)
        return columns

    def append(self, rows: Sequence[Mapping[str, object]]) -> None:
        """Add already-validated metadata rows at positions len(self) .. len(self) + n - 1.

        >>> cols = MetadataColumns()
        >>> cols.append([{"a": 1}]); cols.append([{"b": ["x"]}, {}]); len(cols)
        3
        """
        base = self._n
        by_key: dict[str, tuple[list[int], list[object]]] = {}
        for i, row in enumerate(rows):
            if not row:
                continue
            for key, value in row.items():
                entry = by_key.get(key)
                if entry is None:
                    entry = by_key[key] = ([], [])
                entry[0].append(base + i)
                entry[1].append(value)
        for key, (positions, values) in by_key.items():
            column = self._columns.get(key)
            if column is None:
                column = self._columns[key] = _Column(positions[0])
            column.write(positions, values)
        self._n = base + len(rows)

    def mask(self, where: Where) -> Mask:
        """A bool array of shape (len(self),): True where ``matches(where, row)``.

        >>> from embedlab.store.filters import parse_where
        >>> MetadataColumns.from_rows([{"t": ["a"]}, {"t": "a"}]).mask(
        ...     parse_where({"t": {"$contains": "a"}})).tolist()
        [True, False]
        """
        return self._eval(where, self._n)

    def _eval(self, where: Where, n: int) -> Mask:
        """A fresh mask of length n (callers may modify it in place)."""
        if isinstance(where, Condition):
            return self._condition(where, n)
        if isinstance(where, And | Or):
            combine = np.logical_and if isinstance(where, And) else np.logical_or
            out = self._eval(where.children[0], n)
            for child in where.children[1:]:
                combine(out, self._eval(child, n), out=out)
            return out
        if isinstance(where, Not):
            out = self._eval(where.child, n)
            return np.logical_not(out, out=out)
        if isinstance(where, MatchAll):
            return np.ones(n, dtype=np.bool_)
        raise InvalidFilterError(f"expected a parsed filter (see parse_where), got {where!r}")

    def _condition(self, c: Condition, n: int) -> Mask:
        """One condition over all n rows, padding rows outside the key's column as missing."""
        column = self._columns.get(c.key)
        if column is None or column.start >= n:
            return np.full(n, matches(c, None), dtype=np.bool_)
        size = min(column.size, n - column.start)
        local = column.evaluate(c, size)
        if column.start == 0 and size == n:
            return local
        out = np.full(n, matches(c, None), dtype=np.bool_)
        out[column.start : column.start + size] = local
        return out
