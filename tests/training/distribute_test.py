"""Distributed training: MirroredStrategy on 2 logical CPUs, two
MultiWorkerMirroredStrategy workers on localhost, JAX data parallelism.

Each runs in fresh subprocesses (devices are fixed when TensorFlow or JAX
starts) with hard timeouts; every process is killed on the way out.
"""

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from training_helpers import kerpix_train
from training_helpers import model_weights
from training_helpers import read_json
from training_helpers import subprocess_env
from training_helpers import write_config

from kerpix.training import get_strategy

pytestmark = pytest.mark.tensorflow_only

# Two MirroredStrategy objects in one process share collective keys, so
# the replica check and the training comparison run in separate processes.
REPLICAS_SCRIPT = textwrap.dedent(
    """
    import json
    import numpy as np
    from kerpix.training.distribute import get_strategy, split_cpu
    split_cpu(2)
    from kerpix.models import PixelCNN

    strategy = get_strategy("mirrored")
    with strategy.scope():
        model = PixelCNN((6, 6, 1), num_levels=4, filters=8, num_layers=1)
        model.compile()
    images = np.random.default_rng(0).integers(0, 4, (16, 6, 6, 1))
    model.fit(images, batch_size=8, verbose=0)
    kernel = model.weights[0].value
    print(json.dumps({
        "replicas": strategy.num_replicas_in_sync,
        "devices": [v.device for v in kernel.values],
        "replica_values_equal": all(
            np.array_equal(kernel.values[0].numpy(), v.numpy())
            for v in kernel.values
        ),
    }))
    """
)
TRAIN_SCRIPT = textwrap.dedent(
    """
    import sys
    from kerpix.training import TrainConfig, train
    from kerpix.training.distribute import split_cpu
    split_cpu(2)
    config = TrainConfig.from_file(sys.argv[1])
    train(config.override(["training.batch_size=8"]),
          sys.argv[2] + "/single", verbose=0)
    train(config.override(["training.batch_size=4",
                           "training.strategy=mirrored"]),
          sys.argv[2] + "/mirrored", verbose=0)
    """
)


def run_script(script, *args):
    result = subprocess.run(
        [sys.executable, "-c", script, *args],
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.mark.large
def test_mirrored_strategy_on_two_cpus_matches_one_device(tmp_path):
    config = write_config(
        tmp_path / "config.json",
        epochs=3,
        steps_per_epoch=8,
        logical_cpus=2,
        backup=False,
    )
    report = json.loads(run_script(REPLICAS_SCRIPT).strip().splitlines()[-1])
    assert report["replicas"] == 2
    assert len(set(report["devices"])) == 2
    assert all("CPU" in device for device in report["devices"])
    assert report["replica_values_equal"]
    run_script(TRAIN_SCRIPT, config, str(tmp_path))
    single = read_json(tmp_path / "single" / "history.json")
    mirrored = read_json(tmp_path / "mirrored" / "history.json")
    np.testing.assert_allclose(mirrored["loss"], single["loss"], rtol=2e-3)
    np.testing.assert_allclose(
        mirrored["val_loss"], single["val_loss"], rtol=2e-3
    )
    metrics = read_json(tmp_path / "mirrored" / "metrics.json")
    assert metrics["replicas"] == 2 and metrics["global_batch_size"] == 8


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("localhost", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def run_cluster(commands, timeout=420):
    """Start one process per `(argv, env)` together (a cluster: each waits
    for the others), wait under a hard timeout, kill whatever is left, and
    assert that every process exited 0 (its output's end if not)."""
    processes, outputs = [], []
    try:
        for argv, env in commands:
            processes.append(
                subprocess.Popen(
                    argv,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
            )
        outputs = [p.communicate(timeout=timeout)[0] for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.wait()
    for p, output in zip(processes, outputs):
        assert p.returncode == 0, output[-3000:]


@pytest.mark.large
def test_two_workers_on_localhost_train_with_a_custom_loop(tmp_path):
    config = write_config(
        tmp_path / "config.json", epochs=3, steps_per_epoch=8, backup=False
    )
    workers = [f"localhost:{port}" for port in free_ports(2)]
    workdir = tmp_path / "run"
    commands = []
    for index in range(2):
        tf_config = {
            "cluster": {"worker": workers},
            "task": {"type": "worker", "index": index},
        }
        commands.append(
            (
                kerpix_train(
                    config,
                    workdir,
                    "--override",
                    "training.strategy=multi_worker",
                ),
                subprocess_env(TF_CONFIG=json.dumps(tf_config)),
            )
        )
    run_cluster(commands)
    metrics = read_json(workdir / "metrics.json")
    assert metrics["replicas"] == 2 and metrics["global_batch_size"] == 16
    history = read_json(workdir / "history.json")
    assert len(history["loss"]) == 3
    assert history["loss"][-1] < history["loss"][0]
    assert (workdir / "model.keras").is_file()  # written by the chief only
    assert not [n for n in os.listdir(workdir) if n.startswith("worker")]


@pytest.mark.large
def test_jax_data_parallel_on_two_host_devices(tmp_path):
    pytest.importorskip("jax")
    config = write_config(
        tmp_path / "config.json",
        epochs=2,
        steps_per_epoch=8,
        strategy="data_parallel",
        backup=False,
    )
    result = subprocess.run(
        kerpix_train(config, tmp_path / "run"),
        env=subprocess_env(
            KERAS_BACKEND="jax",
            XLA_FLAGS="--xla_force_host_platform_device_count=2",
        ),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = read_json(tmp_path / "run" / "metrics.json")
    assert metrics["replicas"] == 2 and metrics["global_batch_size"] == 16
    versions = read_json(tmp_path / "run" / "versions.json")
    assert versions["backend"] == "jax"
    history = read_json(tmp_path / "run" / "history.json")
    assert history["loss"][-1] < history["loss"][0]


@pytest.mark.large
def test_jax_data_parallel_across_two_processes(tmp_path):
    """`model.fit` under keras.distribution.DataParallel across two
    processes on localhost (jax.distributed, gloo): both finish with the
    same weights, the chief's saved model holds them, one global batch of
    2 processes × 1 device × 8 images."""
    pytest.importorskip("jax")
    config = write_config(
        tmp_path / "config.json",
        epochs=2,
        steps_per_epoch=8,
        strategy="data_parallel",
        backup=False,
    )
    (port,) = free_ports(1)
    script = textwrap.dedent(
        """
        import sys
        import numpy as np
        from kerpix.training import TrainConfig, distribute, train

        config, workdir, index, out = sys.argv[1:]
        model = train(TrainConfig.from_file(config), workdir, verbose=0)
        assert distribute.is_chief() == (index == "0")
        np.savez(out, *[np.asarray(w) for w in model.get_weights()])
        """
    )
    run_cluster(
        [
            (
                [
                    sys.executable,
                    "-c",
                    script,
                    config,
                    str(tmp_path / "run"),
                    str(index),
                    str(tmp_path / f"weights{index}.npz"),
                ],
                subprocess_env(
                    KERAS_BACKEND="jax",
                    KERAS_DISTRIBUTION_JOB_ADDRESSES=f"localhost:{port}",
                    KERAS_DISTRIBUTION_NUM_PROCESSES="2",
                    KERAS_DISTRIBUTION_PROCESS_ID=str(index),
                ),
            )
            for index in range(2)
        ]
    )
    weights = [np.load(tmp_path / f"weights{i}.npz") for i in range(2)]
    assert len(weights[0].files) > 0
    for key in weights[0].files:
        np.testing.assert_array_equal(weights[0][key], weights[1][key])
    metrics = read_json(tmp_path / "run" / "metrics.json")
    assert metrics["replicas"] == 2 and metrics["global_batch_size"] == 16
    history = read_json(tmp_path / "run" / "history.json")
    assert history["loss"][-1] < history["loss"][0]
    saved = model_weights(tmp_path / "run")
    for key, value in zip(weights[0].files, saved):
        np.testing.assert_allclose(weights[0][key], value, rtol=0, atol=0)


def test_jax_cluster_errors(monkeypatch):
    from kerpix.training import distribute

    monkeypatch.setenv("KERAS_DISTRIBUTION_NUM_PROCESSES", "two")
    with pytest.raises(ValueError, match="NUM_PROCESSES.*'two'"):
        distribute.num_processes()
    monkeypatch.setenv("KERAS_DISTRIBUTION_NUM_PROCESSES", "2")
    monkeypatch.delenv("KERAS_DISTRIBUTION_JOB_ADDRESSES", raising=False)
    monkeypatch.setenv("KERAS_DISTRIBUTION_PROCESS_ID", "0")
    pytest.importorskip("jax")
    with pytest.raises(ValueError, match="JOB_ADDRESSES \\(the coordinator"):
        distribute.join_jax_cluster()
    monkeypatch.setenv("KERAS_DISTRIBUTION_JOB_ADDRESSES", "localhost:1")
    monkeypatch.setenv("KERAS_DISTRIBUTION_PROCESS_ID", "2")
    with pytest.raises(ValueError, match="PROCESS_ID. Expected 0 … 1"):
        distribute.join_jax_cluster()


def test_strategy_errors(monkeypatch):
    with pytest.raises(ValueError, match=r"Expected one of \['auto'"):
        get_strategy("horovod")
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match=r"'multi_worker' needs.*TF_CONFIG"):
        get_strategy("multi_worker")
    assert get_strategy("default").num_replicas_in_sync == 1
