"""Sampling states are flat tuples with named entries: `StateLayout`
maps them to dicts and back, and every family's backbone (and the
multi-scale model's staged state) declares the layout its
`initial_state` follows."""

import numpy as np
import pytest
from family_classes_test import build

from kerpix.models import FAMILIES
from kerpix.models.state_layout import StateLayout


def test_pack_and_unpack_round_trip_in_declared_order():
    layout = StateLayout([("image", None), ("lstm_0", 2), ("bias", None)])
    assert len(layout) == 4
    assert layout.flat_names() == ["image", "lstm_0/0", "lstm_0/1", "bias"]
    flat = tuple(np.full((1,), k) for k in range(4))
    named = layout.unpack(flat)
    assert list(named) == ["image", "lstm_0", "bias"]
    assert int(named["bias"][0]) == 3
    assert [int(t[0]) for t in named["lstm_0"]] == [1, 2]
    assert layout.pack(named) == flat


def test_bad_states_and_layouts_are_value_errors():
    layout = StateLayout([("image", None), ("lstm_0", 2)])
    with pytest.raises(ValueError, match="3 tensors.*Received 2"):
        layout.unpack((0, 1))
    with pytest.raises(ValueError, match=r"missing \['lstm_0'\]"):
        layout.pack({"image": 0})
    with pytest.raises(ValueError, match=r"unknown \['extra'\]"):
        layout.pack({"image": 0, "lstm_0": (1, 2), "extra": 3})
    with pytest.raises(ValueError, match="'lstm_0' holds 2 tensors"):
        layout.pack({"image": 0, "lstm_0": (1,)})
    with pytest.raises(ValueError, match="declared twice"):
        StateLayout([("image", None), ("image", 1)])
    with pytest.raises(ValueError, match="Received: -1"):
        StateLayout([("image", -1)])


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_family_names_its_state(family):
    model = build(family)
    owner = model if hasattr(model, "small_model") else model.backbone
    layout = owner.state_layout
    state = model.initial_state(2)
    assert len(layout) == len(state)
    names = layout.flat_names()
    assert len(set(names)) == len(names)
    named = layout.unpack(state)
    assert layout.pack(named) == tuple(state)
