"""Fixtures of the flow tests: ``open_shop`` starts a retailer on the emulators, stopped after."""

from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

from .shopkit import Shop, open_shop


@pytest.fixture
def shop_factory(tmp_path) -> Iterator[Callable[..., Shop]]:  # type: ignore[no-untyped-def]
    shops: list[Shop] = []

    def make(database_url: str | None = None, **options: Any) -> Shop:
        shop = open_shop(database_url or f"sqlite:///{tmp_path / f'shop{len(shops)}.sqlite'}", **options)
        shops.append(shop)
        return shop

    yield make
    for shop in shops:
        shop.stop()


@pytest.fixture
def shop(shop_factory: Callable[..., Shop]) -> Shop:
    """Four outlets, three warehouses; the first three outlets mapped to W1..W3."""
    s = shop_factory(ls_options={"outlets": 4})
    s.map({0: "W1", 1: "W2", 2: "W3"})
    return s
