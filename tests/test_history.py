"""Undo history and document events (no Qt): QUndoStack's clean rules, one gesture API, and layer
events heard once per edit however often a layer left and came back."""

from __future__ import annotations

import numpy as np
import pytest
from test_document import add_image, photo_doc

from stylefuse_desktop.document.compositor import RenderStore
from stylefuse_desktop.document.history import Command, History
from stylefuse_desktop.document.operations import flatten, merge_down, stale_layers


def _counter(history: History) -> tuple[list[int], Command]:
    state = [0]

    def command(value: int) -> Command:
        old = state[0]
        return Command(f"set {value}", lambda: state.__setitem__(0, value), lambda: state.__setitem__(0, old))

    return state, command


def test_a_new_edit_after_undoing_past_the_saved_step_is_dirty_until_saved():
    history = History()
    state, make = _counter(history)
    history.push(make(1))
    history.mark_clean()  # saved with state 1
    history.undo()
    assert not history.is_clean
    history.push(make(2))  # a different edit: the saved state can no longer be reached
    assert not history.is_clean
    history.undo()  # back to the step count of the save, but not its content
    assert not history.is_clean and state[0] == 0
    history.redo()
    history.mark_clean()
    assert history.is_clean


def test_a_gesture_is_one_step_and_never_merges_into_the_saved_step():
    doc = photo_doc()
    layer = doc.layers[0]
    doc.history.begin_gesture("Opacity")
    for value in (0.9, 0.7, 0.5):
        doc.set(layer.id, "opacity", value)
    doc.history.end_gesture()
    assert doc.history.entries == ["Opacity of Photo"]
    doc.history.mark_clean()
    doc.history.begin_gesture()
    doc.set(layer.id, "opacity", 0.3)  # the same property again, after the save
    doc.history.end_gesture()
    assert not doc.history.is_clean and len(doc.history.entries) == 2
    doc.history.undo()
    assert doc.history.is_clean and layer.opacity == 0.5
    doc.history.undo()
    assert layer.opacity == 1.0


def test_steps_outside_a_gesture_stay_separate_and_group_undoes_on_error():
    doc = photo_doc()
    layer = doc.layers[0]
    doc.set(layer.id, "opacity", 0.5)
    doc.set(layer.id, "opacity", 0.4)  # two key presses: two steps
    assert len(doc.history.entries) == 2
    with pytest.raises(RuntimeError), doc.history.group("Broken"):
        doc.set(layer.id, "opacity", 0.1)
        raise RuntimeError("half way")
    assert layer.opacity == 0.4 and len(doc.history.entries) == 2 and not doc.history.in_gesture


def _changes(doc):
    heard = []
    doc.layer_changed.connect(lambda layer_id, field: heard.append((layer_id, field)))
    return heard


def test_one_edit_is_heard_once_after_delete_and_undo_cycles():
    doc = photo_doc()
    top = add_image(doc, (1, 0, 0))
    for _ in range(2):
        doc.remove_layer(top.id)
        doc.history.undo()
    heard = _changes(doc)
    revision = doc.revision(top.id)
    doc.set(top.id, "opacity", 0.5)
    assert heard == [(top.id, "opacity")] and doc.revision(top.id) == revision + 1


def test_merged_and_flattened_layers_are_heard_once_after_undo():
    doc = photo_doc()
    top = add_image(doc, (1, 0, 0))
    for operation in (lambda: merge_down(doc, top.id, RenderStore()), lambda: flatten(doc, RenderStore())):
        operation()
        doc.history.undo()
        operation()
        doc.history.undo()
    heard = _changes(doc)
    doc.set(top.id, "opacity", 0.25)
    doc.set(doc.layers[0].id, "visible", False)
    assert heard == [(top.id, "opacity"), (doc.layers[0].id, "visible")]


def test_a_removed_layer_is_not_heard():
    doc = photo_doc()
    top = add_image(doc, (1, 0, 0))
    doc.remove_layer(top.id)
    heard = _changes(doc)
    top.opacity = 0.3  # an old reference (an undo command) touching the removed layer
    assert heard == []


def test_one_staleness_rule_for_previews_and_export():
    from stylefuse_desktop.document.compositor import Painted
    from stylefuse_desktop.document.layers import StyleEntry, StyleLayer, StyleRef
    from stylefuse_desktop.document.operations import stale_paintings

    doc = photo_doc()
    style = doc.add_layer(StyleLayer(name="S", styles=(StyleEntry(StyleRef("builtin", "Fiesta")),)))
    renders = RenderStore()
    assert stale_layers(doc, renders, 1.0, draft_ok=True) == [style.id]
    renders.put(style.id, Painted(np.zeros((6, 8, 4), np.float32), 1.0, doc.signature(style), draft=True))
    assert stale_layers(doc, renders, 1.0, draft_ok=True) == []
    assert stale_layers(doc, renders, 1.0, draft_ok=False) == [style.id]
    assert stale_paintings(doc, renders, [style]) == [style.id]  # export never takes a draft


def test_the_document_alone_says_which_changes_alter_pixels():
    """The canvas and the paint scheduler each filtered layer changes by ``Layer.COSMETIC`` again; the
    document announces the changes that alter pixels itself."""
    doc = photo_doc()
    top = add_image(doc, (1, 0, 0))
    heard, painted = _changes(doc), []
    doc.pixels_changed.connect(painted.append)
    doc.set(top.id, "name", "Renamed")
    doc.set(top.id, "locked", True)
    doc.set(top.id, "locked", False)
    assert len(heard) == 3 and painted == []  # the layers panel hears these; nothing repaints
    doc.set(top.id, "opacity", 0.5)
    doc.touch(top.id)
    assert painted == [top.id, top.id]
