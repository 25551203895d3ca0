"""Distribution strategies: one GPU, many GPUs, many machines, TPUs, JAX.

The only module of kerpix that builds `tf.distribute` strategies (or a
`keras.distribution` layout on JAX). `kerpix.training.train` builds and
compiles the model inside `strategy.scope()` and feeds global batches of
`per-replica batch × num_replicas_in_sync` images.

- `"default"`: one device (the default strategy).
- `"mirrored"`: `tf.distribute.MirroredStrategy` over every visible GPU,
  or over the logical CPUs when there are no GPUs and the CPU was split
  with `split_cpu` (how the tests run it on a laptop).
- `"multi_worker"`: `tf.distribute.MultiWorkerMirroredStrategy`, one
  process per machine, configured by the `TF_CONFIG` environment variable.
  `model.fit` fails under it in Keras 3.15 (keras-team/keras#20585), so
  `train` runs its own training loop under this strategy (`train_loop`).
- `"tpu"`: `tf.distribute.TPUStrategy` on the TPU the cluster resolver
  finds.
- `"auto"`: `"mirrored"` when several GPUs are visible, else `"default"`.
- On the JAX backend: `"default"`, or `"data_parallel"`/`"auto"`
  (`keras.distribution.DataParallel` over every JAX device when there are
  several). Across processes or hosts, `"data_parallel"` first joins the
  cluster (`keras.distribution.initialize`, i.e. `jax.distributed`; gloo
  collectives on CPU) when `KERAS_DISTRIBUTION_NUM_PROCESSES` > 1, with
  the coordinator's `host:port` in `KERAS_DISTRIBUTION_JOB_ADDRESSES` and
  this process's index in `KERAS_DISTRIBUTION_PROCESS_ID` (`kerpix train
  --coordinator_address --num_processes --process_id` set them). Every
  process builds the same global batches; Keras shards each batch among
  the processes and `model.fit` runs as on one host (no custom loop).
"""

import contextlib
import json
import os

import keras

from kerpix.metrics import bits_per_dim

STRATEGIES = ("auto", "default", "mirrored", "multi_worker", "tpu")
JAX_STRATEGIES = ("auto", "default", "data_parallel")
# Keras's own variables for a multi-process JAX cluster.
PROCESS_ENV = (
    "KERAS_DISTRIBUTION_JOB_ADDRESSES",
    "KERAS_DISTRIBUTION_NUM_PROCESSES",
    "KERAS_DISTRIBUTION_PROCESS_ID",
)


def split_cpu(num_devices):
    """Split the host CPU into `num_devices` logical devices (TensorFlow).

    Must run before TensorFlow initialises its devices (before any tensor
    is created); lets `"mirrored"` run on a machine without GPUs.
    """
    import tensorflow as tf

    if not isinstance(num_devices, int) or num_devices < 1:
        raise ValueError(
            "Invalid value for argument `num_devices`. Expected a positive "
            f"int. Received: num_devices={num_devices!r}"
        )
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if current is not None and len(current) == num_devices:
        return
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * num_devices
        )
    except RuntimeError as error:
        raise ValueError(
            "Invalid value for config key `training.logical_cpus`: "
            "TensorFlow's devices are already initialised in this process, "
            "so the CPU can no longer be split. Set it before creating any "
            f"tensor (e.g. in a fresh process). ({error})"
        ) from None


def get_strategy(name="auto"):
    """The distribution strategy called `name` (see the module docstring).

    Returns:
        A `tf.distribute.Strategy` on TensorFlow; on JAX, a `JaxStrategy`
        with the same `scope()` and `num_replicas_in_sync`.
    """
    if keras.backend.backend() == "jax":
        return _jax_strategy(name)
    if keras.backend.backend() != "tensorflow":
        raise ValueError(
            "Invalid value for argument `strategy`: distributed training "
            "runs on the TensorFlow or JAX backend. Received backend "
            f"{keras.backend.backend()!r}."
        )
    import tensorflow as tf

    if name not in STRATEGIES:
        raise ValueError(
            "Invalid value for argument `strategy`. Expected one of "
            f"{list(STRATEGIES)}. Received: strategy={name!r}"
        )
    if name == "multi_worker":
        # First: collective ops must be configured before TensorFlow
        # initialises its devices (listing them does).
        if not os.environ.get("TF_CONFIG"):
            raise ValueError(
                "Invalid value for argument `strategy`: 'multi_worker' needs "
                "the TF_CONFIG environment variable (cluster addresses and "
                'this task\'s index), e.g. TF_CONFIG=\'{"cluster": {"worker": '
                '["host1:12345", "host2:12345"]}, "task": {"type": "worker", '
                '"index": 0}}\'. Received: TF_CONFIG unset.'
            )
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    if name == "auto":
        name = "mirrored" if len(gpus) > 1 else "default"
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = [d.name for d in gpus]
        if not devices:
            devices = [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=devices)
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
    return tf.distribute.TPUStrategy(resolver)


class JaxStrategy:
    """`keras.distribution` layout on JAX with a strategy-like interface.

    Args:
        devices: the JAX devices the batch is split over (one: no split).
    """

    def __init__(self, devices):
        self.devices = list(devices)
        if len(self.devices) > 1:
            keras.distribution.set_distribution(
                keras.distribution.DataParallel(devices=self.devices)
            )

    @property
    def num_replicas_in_sync(self):
        return len(self.devices)

    def scope(self):
        return contextlib.nullcontext()


def _jax_strategy(name):
    if name not in JAX_STRATEGIES:
        raise ValueError(
            "Invalid value for argument `strategy`. On the JAX backend "
            f"expected one of {list(JAX_STRATEGIES)}. Received: "
            f"strategy={name!r}"
        )
    if name == "data_parallel":
        join_jax_cluster()
    elif num_processes() > 1:
        raise ValueError(
            "Invalid value for argument `strategy`: "
            f"KERAS_DISTRIBUTION_NUM_PROCESSES={num_processes()} asks for "
            "several processes, which only 'data_parallel' trains across. "
            f"Received: strategy={name!r}"
        )
    devices = keras.distribution.list_devices()
    return JaxStrategy(devices if name != "default" else devices[:1])


def num_processes():
    """The processes of the JAX cluster `KERAS_DISTRIBUTION_NUM_PROCESSES`
    asks for (1 when unset); a `ValueError` naming a malformed one."""
    raw = os.environ.get("KERAS_DISTRIBUTION_NUM_PROCESSES", "1")
    try:
        count = int(raw)
    except ValueError:
        count = 0
    if count < 1:
        raise ValueError(
            "Invalid value for KERAS_DISTRIBUTION_NUM_PROCESSES. Expected a "
            f"positive integer. Received: {raw!r}"
        )
    return count


def join_jax_cluster():
    """Join the multi-process JAX cluster of the `PROCESS_ENV` variables
    (a no-op with one process or when already joined). Must run before
    JAX computes anything; on CPU the collectives are gloo's."""
    import jax

    count = num_processes()
    if count == 1 or jax.distributed.is_initialized():
        return
    address = os.environ.get("KERAS_DISTRIBUTION_JOB_ADDRESSES")
    index = os.environ.get("KERAS_DISTRIBUTION_PROCESS_ID")
    if not address or index is None or not index.isdigit():
        raise ValueError(
            f"Invalid multi-process setup: KERAS_DISTRIBUTION_NUM_PROCESSES="
            f"{count} also needs KERAS_DISTRIBUTION_JOB_ADDRESSES (the "
            "coordinator's host:port, e.g. 10.0.0.1:1234) and "
            "KERAS_DISTRIBUTION_PROCESS_ID (0 … "
            f"{count - 1}; 0 is the coordinator). Received: {address!r}, "
            f"{index!r}."
        )
    if int(index) >= count:
        raise ValueError(
            "Invalid value for KERAS_DISTRIBUTION_PROCESS_ID. Expected 0 … "
            f"{count - 1}. Received: {index}"
        )
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    try:
        keras.distribution.initialize(
            job_addresses=address.split(",")[0],
            num_processes=count,
            process_id=int(index),
        )
    except RuntimeError as error:
        raise ValueError(
            "Could not join the JAX cluster: it must be joined before JAX "
            "computes anything in this process (train in a fresh process). "
            f"({error})"
        ) from None


def collective_variables():
    """Whether creating a variable is a collective every process must join
    (multi-process JAX: replicated variables are checked across processes),
    so all of them save and load the run's checkpoints."""
    if keras.backend.backend() != "jax" or num_processes() == 1:
        return False
    import jax

    return jax.distributed.is_initialized()


def is_chief(strategy=None):
    """Whether this process writes the run's files (multi-worker: task 0
    of type `chief`, or worker 0 when there is no chief; multi-process
    JAX: process 0)."""
    if keras.backend.backend() == "jax" and num_processes() > 1:
        import jax

        return jax.process_index() == 0
    config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    task = config.get("task") or {}
    cluster = config.get("cluster") or {}
    if not task:
        return True
    if "chief" in cluster:
        return task.get("type") == "chief"
    return task.get("type") in (None, "worker") and task.get("index", 0) == 0


def uses_custom_loop(strategy):
    """Whether `model.fit` cannot run under `strategy` (Keras 3.15 and
    MultiWorkerMirroredStrategy: keras-team/keras#20585)."""
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def train_loop(
    model,
    strategy,
    train_ds,
    valid_ds,
    epochs,
    steps_per_epoch,
    callbacks=(),
    verbose=1,
):
    """Train `model` under `strategy` without `model.fit`.

    Every replica computes the NLL of its share of each global batch; the
    loss is their sum divided by the global batch size, so the update is
    the same as one device on the whole batch. Validation runs on every
    worker (collective ops need all of them) and is reduced across them.
    `callbacks` get `on_epoch_end(epoch, logs)` with `loss`,
    `bits_per_dim`, `val_loss` and `val_bits_per_dim` in `logs`, and may
    set `model.stop_training`.

    Returns:
        History dict `{metric: [value per epoch]}`.
    """
    import tensorflow as tf

    optimizer = model.optimizer
    train_dist = strategy.experimental_distribute_dataset(train_ds)
    valid_dist = strategy.experimental_distribute_dataset(valid_ds)

    def nll_sum(inputs, training):
        nll = -model.compute_log_prob(inputs, training=training)
        nll = tf.cast(nll, tf.float32)
        return tf.reduce_sum(nll), tf.cast(tf.shape(nll)[0], tf.float32)

    @tf.function
    def train_step(iterator):
        def replica_step(inputs):
            with tf.GradientTape() as tape:
                total, count = nll_sum(inputs, True)
                # Mean over the global batch: the replicas' gradients are
                # summed when applied.
                loss = total / (count * strategy.num_replicas_in_sync)
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply(grads, model.trainable_variables)
            return total, count

        total, count = strategy.run(replica_step, args=(next(iterator),))
        return (
            strategy.reduce("SUM", total, axis=None),
            strategy.reduce("SUM", count, axis=None),
        )

    @tf.function
    def eval_step(inputs):
        total, count = strategy.run(nll_sum, args=(inputs, False))
        return (
            strategy.reduce("SUM", total, axis=None),
            strategy.reduce("SUM", count, axis=None),
        )

    history = {}
    model.stop_training = False
    iterator = iter(train_dist)
    for epoch in range(epochs):
        for callback in callbacks:
            callback.on_epoch_begin(epoch)
        progbar = None
        if verbose == 1:
            progbar = keras.utils.Progbar(steps_per_epoch)
        total = count = 0.0
        for step in range(steps_per_epoch):
            t, c = train_step(iterator)
            total, count = total + float(t), count + float(c)
            if progbar is not None:
                progbar.update(step + 1, [("loss", total / count)])
        for callback in callbacks:
            callback.on_test_begin()  # e.g. EMA weights for validation
        v_total = v_count = 0.0
        for inputs in valid_dist:
            t, c = eval_step(inputs)
            v_total, v_count = v_total + float(t), v_count + float(c)
        for callback in callbacks:
            callback.on_test_end()
        logs = {"loss": total / count, "val_loss": v_total / v_count}
        logs["bits_per_dim"] = float(
            bits_per_dim(logs["loss"], model.image_shape)
        )
        logs["val_bits_per_dim"] = float(
            bits_per_dim(logs["val_loss"], model.image_shape)
        )
        for key, value in logs.items():
            history.setdefault(key, []).append(value)
        if verbose:
            print(
                f"Epoch {epoch + 1}/{epochs} - "
                + " - ".join(f"{k}: {v:.4f}" for k, v in logs.items()),
                flush=True,
            )
        for callback in callbacks:
            callback.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    return history
