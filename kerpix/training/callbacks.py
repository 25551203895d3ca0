"""Training callbacks."""

import time

import keras


class TimeBudget(keras.callbacks.Callback):
    """Stop training after the epoch during which `minutes` ran out.

    Args:
        minutes: float. Wall-clock training budget.
    """

    def __init__(self, minutes):
        super().__init__()
        if minutes is not None and minutes <= 0:
            raise ValueError(
                "Invalid value for argument `minutes`. Expected a positive "
                f"number of minutes or None. Received: minutes={minutes!r}"
            )
        self.minutes = minutes
        self.start = None

    def on_train_begin(self, logs=None):
        self.start = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        if time.monotonic() - self.start > self.minutes * 60:
            self.model.stop_training = True
