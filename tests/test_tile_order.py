"""The visible-region-first tile order (srgan_desktop.compare.tile_order), without Qt."""

from __future__ import annotations

import threading

from srgan_desktop.compare.tile_order import TileOrder, intersects, lr_viewport


def _grid(n: int, side: int) -> list[tuple[int, int, int, int]]:
    """n × n tiles of ``side`` pixels, row by row (like the engine's index order)."""
    return [(r * side, c * side, (r + 1) * side, (c + 1) * side) for r in range(n) for c in range(n)]


def _drain(order: TileOrder) -> list[tuple[str, int]]:
    out = []
    while (item := order.next()) is not None:
        out.append(item)
        order.done(*item)
    return out


def test_no_viewport_runs_each_method_in_index_order_one_after_the_other():
    order = TileOrder()
    order.add("a", _grid(2, 10))
    order.add("b", _grid(2, 10))
    assert _drain(order) == [("a", 0), ("a", 1), ("a", 2), ("a", 3), ("b", 0), ("b", 1), ("b", 2), ("b", 3)]
    assert order.next() is None


def test_visible_tiles_first_methods_in_turn_then_the_rest_method_by_method():
    order = TileOrder()
    boxes = _grid(4, 10)  # 40×40 LR, 16 tiles
    for key in ("a", "b", "c"):
        order.add(key, boxes)
    order.set_viewport((0, 0, 15, 15))  # top-left corner: tiles 0, 1, 4, 5; centre (7.5, 7.5)
    seen = _drain(order)
    visible = {0, 1, 4, 5}
    head = seen[:12]
    assert [k for k, _ in head] == ["a", "b", "c"] * 4          # round-robin, one tile each
    assert all(i in visible for _, i in head)
    assert [i for k, i in head if k == "a"] == [0, 1, 4, 5] or [i for k, i in head if k == "a"] == [0, 4, 1, 5]
    rest = seen[12:]
    assert [k for k, _ in rest] == ["a"] * 12 + ["b"] * 12 + ["c"] * 12
    assert sorted(i for k, i in rest if k == "a") == sorted(set(range(16)) - visible)
    assert len(seen) == 48 and len(set(seen)) == 48


def test_nearest_the_viewport_centre_first():
    order = TileOrder()
    order.add("a", _grid(4, 10))
    order.set_viewport((20, 20, 30, 30))  # exactly tile 10 (row 2, col 2)
    first = order.next()
    assert first == ("a", 10)
    order.done(*first)
    # the rest: nearest to (25, 25) first — the 4 neighbours of tile 10 before any corner
    nxt = [order.next()]
    order.done(*nxt[0])
    assert nxt[0][1] in {6, 9, 11, 14}


def test_panning_reorders_what_is_waiting():
    order = TileOrder()
    order.add("a", _grid(4, 10))
    order.add("b", _grid(4, 10))
    order.set_viewport((0, 0, 10, 10))
    assert order.next() == ("a", 0)
    order.done("a", 0)
    order.set_viewport((30, 30, 40, 40))  # pan to the bottom-right tile
    # the turn goes on: a was served last, so b's visible tile comes first
    item = order.next()
    assert item == ("b", 15)
    order.done(*item)
    assert order.next() == ("a", 15)
    order.done("a", 15)
    # nothing visible left: the rest, a first, nearest (35, 35) first
    assert order.next() in {("a", 11), ("a", 14)}


def test_remove_and_done_and_remaining():
    order = TileOrder()
    order.add("a", _grid(2, 10))
    order.add("b", _grid(2, 10))
    order.set_viewport((0, 0, 5, 5))
    order.done("a", 0)
    assert order.remaining("a") == 3
    assert order.next() == ("b", 0)
    order.remove("b")
    assert order.keys() == ["a"]
    assert order.remaining("b") == 0
    assert {i for _, i in _drain(order)} == {1, 2, 3}


def test_methods_with_different_tilings_share_one_viewport():
    order = TileOrder()
    order.add("fine", _grid(4, 10))
    order.add("bicubic", [(0, 0, 40, 40)])  # one tile covers everything: visible
    order.set_viewport((30, 30, 40, 40))
    assert order.next() == ("fine", 15)
    order.done("fine", 15)
    assert order.next() == ("bicubic", 0)


def test_set_viewport_from_another_thread_is_safe():
    order = TileOrder()
    order.add("a", _grid(8, 4))
    stop = threading.Event()

    def pan() -> None:
        k = 0
        while not stop.is_set():
            order.set_viewport(None if k % 3 == 0 else (k % 28, k % 28, k % 28 + 4, k % 28 + 4))
            k += 1

    thread = threading.Thread(target=pan)
    thread.start()
    try:
        seen = _drain(order)
    finally:
        stop.set()
        thread.join()
    assert sorted(i for _, i in seen) == list(range(64))


def test_intersects_and_lr_viewport():
    assert intersects((0, 0, 10, 10), (9, 9, 20, 20))
    assert not intersects((0, 0, 10, 10), (10, 0, 20, 10))
    # scene units: LR pixels × scale; widened to whole pixels, cut to the image
    assert lr_viewport(4.0, 8.0, 40.0, 41.0, 4, (96, 96, 3)) == (2, 1, 11, 10)
    assert lr_viewport(-100.0, -100.0, 1000.0, 1000.0, 4, (96, 96, 3)) is None   # all visible
    assert lr_viewport(500.0, 500.0, 600.0, 600.0, 4, (96, 96, 3)) is None       # none visible
    assert lr_viewport(-5.0, 0.0, 20.0, 384.0, 4, (96, 96)) == (0, 0, 96, 5)


def test_new_boxes_after_a_cut_keep_what_ran_and_join_the_visible_round():
    order = TileOrder()
    order.add("a", [(0, 0, 8, 16), (8, 0, 16, 16)])
    order.done("a", 0)
    order.set_viewport((8, 8, 16, 16))
    order.set_boxes("a", [(0, 0, 8, 16), (8, 0, 16, 8), (8, 8, 16, 16)])  # tile 1 cut in two
    assert order.remaining("a") == 2
    assert order.next() == ("a", 2)   # the piece under the view first
    order.done("a", 2)
    assert order.next() == ("a", 1)
    order.set_boxes("gone", [(0, 0, 1, 1)])  # a key not (or no longer) scheduled: nothing happens
    assert order.keys() == ["a"]
