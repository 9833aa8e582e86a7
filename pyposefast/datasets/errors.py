"""Errors of the annotation readers: they name the file and the record, never a deep traceback."""

from __future__ import annotations

from typing import List, Optional


class AnnotationError(ValueError):
    """A malformed annotation file or record.

    The message reads ``<file>: <record>: <what is wrong>``, e.g.
    ``ann.json: annotations[3] (id=17): image_id 9 is not in 'images'``.

    Attributes:
        file (str): the annotation file.
        record (str, optional): the record (``annotations[3] (id=17)``), None for file-level errors.
    """

    def __init__(self, file: str, record: Optional[str], message: str) -> None:
        self.file = str(file)
        self.record = record
        self.reason = message
        where = f"{self.file}: {record}" if record else self.file
        super().__init__(f"{where}: {message}")


class BadRecords:
    """Raise on the first bad record, or (``skip=True``) count and remember them.

    Attributes:
        skip (bool): skip-and-count instead of raising.
        errors (list[AnnotationError]): the skipped records' errors, in file order.
    """

    def __init__(self, skip: bool) -> None:
        self.skip = bool(skip)
        self.errors: List[AnnotationError] = []

    def __call__(self, err: AnnotationError) -> None:
        if not self.skip:
            raise err
        self.errors.append(err)

    @property
    def count(self) -> int:
        return len(self.errors)
