"""Learning-rate schedules of the training configs.

Keras only, imported with `kerpix`: a `.keras` file or preset config that
holds its optimizer loads after `import kerpix`.
"""

import keras
from keras import ops

Schedule = keras.optimizers.schedules.LearningRateSchedule


@keras.saving.register_keras_serializable(package="kerpix")
class LearningRateDrops(Schedule):
    """A learning rate multiplied by each drop's factor from its step on.

    Step decay on top of any schedule: `LearningRateDrops(s, [(42000,
    0.3)])` is `s(step)` before step 42000 and `0.3 · s(step)` from it
    on. A run resumed after the boundary with the drop added sees the
    schedule a run trained with it from scratch sees.

    Args:
        schedule: float or `LearningRateSchedule`. The rate before drops.
        drops: sequence of `(step, factor)`: steps ≥ 0, factors in (0, 1].
    """

    def __init__(self, schedule, drops):
        self.schedule = schedule
        self.drops = validate_drops(drops, "argument `drops`")

    def __call__(self, step):
        if isinstance(self.schedule, Schedule):
            rate = self.schedule(step)
        else:
            rate = ops.convert_to_tensor(self.schedule, "float32")
        step = ops.cast(step, "float32")
        for boundary, factor in self.drops:
            scale = ops.where(step >= float(boundary), factor, 1.0)
            rate = rate * ops.cast(scale, rate.dtype)
        return rate

    def get_config(self):
        schedule = self.schedule
        if isinstance(schedule, Schedule):
            schedule = keras.saving.serialize_keras_object(schedule)
        return {"schedule": schedule, "drops": [list(d) for d in self.drops]}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if isinstance(config["schedule"], dict):
            config["schedule"] = keras.saving.deserialize_keras_object(
                config["schedule"]
            )
        return cls(**config)


def validate_drops(drops, argument):
    """`drops` as a list of `(int step, float factor)`, else ValueError."""
    out = []
    for drop in drops or ():
        ok = (
            isinstance(drop, (list, tuple))
            and len(drop) == 2
            and isinstance(drop[0], int)
            and not isinstance(drop[0], bool)
            and drop[0] >= 0
            and isinstance(drop[1], (int, float))
            and 0 < drop[1] <= 1
        )
        if not ok:
            raise ValueError(
                f"Invalid value for {argument}. Expected a list of "
                "[step, factor] pairs with an integer step >= 0 and a factor "
                f"in (0, 1], e.g. [[42000, 0.3]]. Received: {drops!r}"
            )
        out.append((int(drop[0]), float(drop[1])))
    return out
