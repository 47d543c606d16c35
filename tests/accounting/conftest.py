"""Fixtures of the accounting tests: a retailer with books in Xero or QuickBooks, stopped after."""

from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

from .books import Books, open_books


@pytest.fixture
def books_factory(tmp_path) -> Iterator[Callable[..., Books]]:  # type: ignore[no-untyped-def]
    made: list[Books] = []

    def make(**options: Any) -> Books:
        books = open_books(f"sqlite:///{tmp_path / f'books{len(made)}.sqlite'}", **options)
        made.append(books)
        return books

    yield make
    for books in made:
        books.stop()


@pytest.fixture
def xero_books(books_factory: Callable[..., Books]) -> Books:
    """Accounting invoices enabled towards a Xero organisation."""
    return books_factory()
