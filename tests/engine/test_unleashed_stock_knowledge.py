"""What the Unleashed connector knows of available stock: short only when known short, fresh."""

from __future__ import annotations

from decimal import Decimal

from tillbridge_unleashed.stock_knowledge import LOW_STOCK, StockKnowledge

D = Decimal


def test_short_only_when_known_short_and_orders_take_their_quantities() -> None:
    known = StockKnowledge()
    known.learn("a", "w1", D(3))
    assert known.short("w1", [("a", D(3))]) == []
    assert known.short("w1", [("a", D(4)), ("b", D(100))]) == ["a"]  # b is not known: enough
    known.take("w1", [("a", D(2)), ("b", D(1))])
    assert known.short("w1", [("a", D(2))]) == ["a"]
    assert known.short("w2", [("a", D(2))]) == []  # another warehouse


def test_plenty_is_not_kept_and_old_knowledge_is_forgotten() -> None:
    known = StockKnowledge(fresh_seconds=0.0)
    known.learn("a", "w1", D(0))
    assert known.short("w1", [("a", D(1))]) == []  # stale at once: counts as not known
    known = StockKnowledge()
    known.learn("a", "w1", D(0))
    known.learn("a", "w1", LOW_STOCK)  # stock received: plenty
    assert known.short("w1", [("a", LOW_STOCK + 1)]) == []


def test_a_product_an_order_ran_short_of_is_short_until_stock_is_read() -> None:
    known = StockKnowledge()
    known.learn("a", "w1", D(10))
    known.ran_short("w1", ["a", "b"])
    assert known.short("w1", [("a", D(10)), ("b", D(1))]) == ["b"]  # a's level was known: kept
    known.learn("b", "w1", D(5))  # the stock export read it
    assert known.short("w1", [("b", D(1))]) == []


def test_it_keeps_at_most_max_levels_forgetting_the_oldest_first(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tillbridge_unleashed import stock_knowledge

    monkeypatch.setattr(stock_knowledge, "MAX_LEVELS", 3)
    known = StockKnowledge()
    for product in ("a", "b", "c"):
        known.learn(product, "w1", D(0))
    known.learn("a", "w1", D(0))  # learnt again: the newest now
    known.learn("d", "w1", D(0))  # one too many: the oldest ("b") goes
    assert known.short("w1", [(p, D(1)) for p in "abcd"]) == ["a", "c", "d"]
    known.ran_short("w1", ["e"])
    assert known.short("w1", [(p, D(1)) for p in "abcde"]) == ["a", "d", "e"]


def test_fractional_and_negative_levels_are_kept_exactly() -> None:
    """Whole levels share one Decimal each (memory); the rest are kept as they are."""
    known = StockKnowledge()
    known.learn("kg", "w1", D("2.5"))
    known.learn("over", "w1", D(-3))  # allocated beyond what is on hand
    known.learn("far", "w1", D(-500))
    assert known.short("w1", [("kg", D("2.5"))]) == []
    assert known.short("w1", [("kg", D("2.51")), ("over", D(0)), ("far", D(-501))]) == ["kg", "over"]
    known.take("w1", [("kg", D("0.5"))])
    assert known.short("w1", [("kg", D(2))]) == [] and known.short("w1", [("kg", D("2.01"))]) == ["kg"]
