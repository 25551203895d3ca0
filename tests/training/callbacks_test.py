"""Training callbacks: the wall-clock budget."""

import keras
import numpy as np
import pytest

from kerpix.training import TimeBudget
from kerpix.training import callbacks as callbacks_module


class FakeClock:
    """`time.monotonic` that advances one minute per call after `start`."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        self.now += 60.0
        return self.now


class CountBatches(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.batches = 0
        self.epochs = 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1

    def on_epoch_end(self, epoch, logs=None):
        self.epochs += 1


def fit_with_budget(monkeypatch, minutes, per_batch):
    monkeypatch.setattr(callbacks_module.time, "monotonic", FakeClock())
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    x = np.zeros((40, 2), "float32")
    count = CountBatches()
    history = model.fit(
        x,
        x[:, :1],
        batch_size=4,  # 10 batches per epoch
        epochs=5,
        validation_data=(x, x[:, :1]),
        callbacks=[TimeBudget(minutes, per_batch=per_batch), count],
        verbose=0,
    )
    return count, history


@pytest.mark.parametrize("per_batch", [True, False])
def test_time_budget_stops_after_the_batch_or_epoch_that_ran_out(
    monkeypatch, per_batch
):
    # Every clock reading is one minute later: the budget of 2.5 minutes
    # runs out at the third reading after the start.
    count, history = fit_with_budget(monkeypatch, 2.5, per_batch)
    if per_batch:
        assert (count.batches, count.epochs) == (3, 1)
    else:
        # Read once per epoch: the third epoch's end.
        assert (count.batches, count.epochs) == (30, 3)
    # The partial epoch is still validated (the best checkpoint sees it).
    assert len(history.history["val_loss"]) == count.epochs


def test_time_budget_bad_minutes():
    with pytest.raises(ValueError, match="`minutes`.*Received: minutes=0"):
        TimeBudget(0)
