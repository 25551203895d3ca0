"""Training runs: resuming a killed run, backups, EMA, sample grids,
TensorBoard logs and config errors (in-process and in subprocesses)."""

import os
import signal
import subprocess
import time

import keras
import numpy as np
import pytest
from training_helpers import kerpix_train
from training_helpers import model_weights
from training_helpers import read_json
from training_helpers import subprocess_env
from training_helpers import tiny_config
from training_helpers import write_config

from kerpix.training import train
from kerpix.training.train import make_optimizer

pytestmark = pytest.mark.tensorflow_only


@pytest.mark.large
def test_a_killed_run_resumes_to_the_weights_of_an_uninterrupted_one(tmp_path):
    config = write_config(
        tmp_path / "config.json",
        epochs=12,
        steps_per_epoch=40,
        deterministic=True,
    )
    env = subprocess_env()
    reference = tmp_path / "reference"
    subprocess.run(
        kerpix_train(config, reference), env=env, check=True, timeout=600
    )
    run = tmp_path / "killed"
    metadata = run / "backup" / "training_metadata.json"
    process = subprocess.Popen(kerpix_train(config, run), env=env)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and process.poll() is None:
            if metadata.is_file():
                try:
                    if read_json(metadata)["epoch"] >= 3:
                        break
                except (ValueError, KeyError):
                    pass  # being written
            time.sleep(0.05)
        assert process.poll() is None, "the run ended before it was killed"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert read_json(run / "run_state.json")["status"] == "running"
    done = read_json(metadata)["epoch"]
    assert 3 <= done < 12
    resumed = subprocess.run(
        kerpix_train(config, run),
        env=env,
        check=True,
        timeout=600,
        capture_output=True,
        text=True,
    )
    assert f"after epoch {done}" in resumed.stdout
    assert read_json(run / "run_state.json")["status"] == "finished"
    history, want = (
        read_json(run / "history.json"),
        read_json(reference / "history.json"),
    )
    assert len(history["loss"]) == 12
    np.testing.assert_allclose(history["loss"], want["loss"], rtol=1e-6)
    np.testing.assert_allclose(history["val_loss"], want["val_loss"], rtol=1e-6)
    for got, expected in zip(model_weights(run), model_weights(reference)):
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)
    assert not (run / "backup").exists()  # deleted once finished


def test_an_interrupted_run_without_a_usable_backup_is_an_error(tmp_path):
    workdir = tmp_path / "run"
    workdir.mkdir()
    (workdir / "run_state.json").write_text('{"status": "running"}')
    with pytest.raises(ValueError, match=r"interrupted.*no backup.*--restart"):
        train(tiny_config(), str(workdir), verbose=0)
    backup = workdir / "backup"
    backup.mkdir()
    (backup / "training_metadata.json").write_text(
        '{"epoch": 1, "weights": "epoch_1.weights.h5"}'
    )
    (backup / "epoch_1.weights.h5").write_bytes(b"not an HDF5 file")
    with pytest.raises(
        ValueError, match=r"Could not restore the backup in .*--restart"
    ):
        train(tiny_config(), str(workdir), verbose=0)
    # Asked for explicitly, a restart trains from scratch.
    train(tiny_config(), str(workdir), verbose=0, restart=True)
    assert read_json(workdir / "run_state.json")["status"] == "finished"


def test_ema_sample_grids_and_tensorboard_logs(tmp_path):
    config = tiny_config(
        ema_decay=0.9,
        sample_every_epochs=1,
        tensorboard=True,
        learning_rate_schedule="exponential",
        learning_rate_decay=0.99,
        clip_norm=1.0,
        early_stopping_patience=5,
    )
    model = train(config, str(tmp_path), verbose=0)
    assert model.optimizer.use_ema and model.optimizer.ema_momentum == 0.9
    for epoch in (1, 2):
        assert (tmp_path / "samples" / f"epoch_{epoch:03d}.png").is_file()
    import tensorflow as tf

    tags = set()
    for root, _, files in os.walk(tmp_path / "logs"):
        for name in files:
            for record in tf.data.TFRecordDataset(os.path.join(root, name)):
                event = tf.compat.v1.Event.FromString(record.numpy())
                tags |= {value.tag for value in event.summary.value}
    assert {"samples", "epoch_loss", "epoch_bits_per_dim"} <= tags
    # The checkpoint holds the EMA weights it was validated with.
    history = read_json(tmp_path / "history.json")
    best = min(history["val_bits_per_dim"])
    metrics = read_json(tmp_path / "metrics.json")
    assert metrics["validation_bits_per_dim"] == pytest.approx(best, rel=1e-6)


def test_optimizer_options():
    t = tiny_config(
        learning_rate=0.01,
        scale_learning_rate=True,
        learning_rate_schedule="cosine",
        clip_norm=2.0,
    ).training
    optimizer = make_optimizer(t, replicas=4, total_steps=100)
    assert optimizer.global_clipnorm == 2.0
    schedule = optimizer._learning_rate
    assert float(schedule(0)) == pytest.approx(0.04)  # linear scaling × 4
    assert float(schedule(100)) == pytest.approx(0.0, abs=1e-7)


def test_learning_rate_drops_multiply_the_schedule_from_their_step():
    import keras

    t = tiny_config(
        learning_rate=0.01,
        learning_rate_schedule="exponential",
        learning_rate_decay=0.9,
        learning_rate_drops=[[10, 0.5], [20, 0.1]],
    ).training
    schedule = make_optimizer(t)._learning_rate
    for step, factor in ((0, 1), (9, 1), (10, 0.5), (19, 0.5), (20, 0.05)):
        expected = 0.01 * 0.9**step * factor
        assert float(schedule(step)) == pytest.approx(expected, rel=1e-5)
    # It serializes with the optimizer (model.keras holds it).
    config = keras.saving.serialize_keras_object(schedule)
    again = keras.saving.deserialize_keras_object(config)
    assert float(again(15)) == pytest.approx(float(schedule(15)), rel=1e-6)
    drops = tiny_config(learning_rate_drops=[[3, 0.5]]).training
    constant = make_optimizer(drops)._learning_rate  # lr 0.01, no decay
    assert float(constant(2)) == pytest.approx(0.01)
    assert float(constant(3)) == pytest.approx(0.005)


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("precision", "float8", r"`training\.precision`.*'float8'"),
        (
            "learning_rate_schedule",
            "step",
            r"`training\.learning_rate_schedule`.*'step'",
        ),
        ("ema_decay", 1.5, r"`training\.ema_decay`.*1\.5"),
        (
            "learning_rate_drops",
            [[100, 1.5]],
            r"`training\.learning_rate_drops`.*\[\[100, 1\.5\]\]",
        ),
        (
            "learning_rate_drops",
            [100],
            r"`training\.learning_rate_drops`.*\[step, factor\]",
        ),
        ("strategy", "horovod", r"`strategy`.*Received: strategy='horovod'"),
    ],
)
def test_bad_training_config(tmp_path, key, value, message):
    with pytest.raises(ValueError, match=message):
        train(tiny_config(**{key: value}), str(tmp_path), verbose=0)


def test_mixed_precision_trains_and_restores_the_global_policy(tmp_path):
    import keras

    before = keras.config.dtype_policy().name
    model = train(
        tiny_config(precision="mixed_bfloat16"), str(tmp_path), verbose=0
    )
    assert keras.config.dtype_policy().name == before
    conv = model.backbone.get_layer("first_conv")
    assert conv.dtype_policy.name == "mixed_bfloat16"
    assert model.head.compute_dtype == "float32"  # heads stay float32
    history = read_json(tmp_path / "history.json")
    assert np.all(np.isfinite(history["loss"]))


@pytest.mark.large  # slow: the large suite (CI) runs it
def test_ride_trains_evaluates_and_samples_through_the_run_api(tmp_path):
    import json as json_module

    from kerpix.training import evaluate
    from kerpix.training import sample

    config = tiny_config().to_dict()
    config["model"] = {
        "family": "ride",
        "kwargs": {
            "num_hiddens": 4,
            "num_components": 2,
            "num_scales": 2,
            "num_features": 2,
        },
    }
    path = tmp_path / "ride.json"
    path.write_text(json_module.dumps(config))
    from kerpix.training import TrainConfig

    train(TrainConfig.from_file(str(path)), str(tmp_path / "run"), verbose=0)
    metrics = evaluate(str(tmp_path / "run"), verbose=0)
    assert np.isfinite(metrics["test_nats_per_image"])
    assert sample(str(tmp_path / "run"), num_samples=4, verbose=0)
    images = np.load(tmp_path / "run" / "samples.npy")
    assert images.shape == (4, 6, 6, 1) and images.max() < 256

    from kerpix.export import check_onnx
    from kerpix.export import export_onnx
    from kerpix.training.train import load_model

    # train() fitted the preconditioner to the training split first.
    model = load_model(str(tmp_path / "run"))
    scale = keras.ops.convert_to_numpy(
        model.backbone.preconditioner.output_scale
    )
    assert scale != 1.0
    # Exported and checked against Keras like every family.
    path = export_onnx(model, str(tmp_path / "onnx"))
    assert check_onnx(model, path, images) < 1e-4


def test_runs_turn_the_failing_grappler_remapper_off_and_restore_it():
    import tensorflow as tf

    from kerpix.utils.grappler import without_grappler_remapper

    before = tf.config.optimizer.get_experimental_options()
    with without_grappler_remapper():
        assert tf.config.optimizer.get_experimental_options()["remapping"] is (
            False
        )
    after = tf.config.optimizer.get_experimental_options()
    assert after.get("remapping", True) == before.get("remapping", True)
