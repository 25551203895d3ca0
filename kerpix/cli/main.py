"""`kerpix presets | train | evaluate | sample | export | serve`: a thin
CLI over the library.

Examples:
    kerpix presets
    kerpix train --config=dead_leaves_demo --workdir=saved_models/demo
    kerpix evaluate --workdir=saved_models/demo
    kerpix sample --workdir=saved_models/demo --num-samples=16
    kerpix export --workdir=saved_models/demo --format=saved_model --check
    kerpix sample --preset=dead_leaves_pixel_cnn --output=samples.png
    kerpix evaluate --preset=binarized_mnist_row_lstm
    kerpix export --preset=dead_leaves_pixel_cnn --format=onnx --output=onnx
    kerpix serve --preset=dead_leaves_pixel_cnn --rest_api_port=8501
    kerpix serve --model_name=kerpix \
        --model_base_path=saved_models/demo/saved_model/kerpix \
        --rest_api_port=8501
"""

# Each command imports what it runs when it runs: `kerpix --help` and a
# bad flag answer at once instead of after importing TensorFlow (~2 s).
import argparse
import os
import sys

from kerpix.utils.grappler import without_grappler_remapper


def build_parser():
    parser = argparse.ArgumentParser(
        prog="kerpix", description="Autoregressive image density models."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a model")
    train.add_argument(
        "--config", required=True, help="JSON config file or preset name"
    )
    train.add_argument("--workdir", required=True)
    train.add_argument(
        "--override",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="e.g. training.epochs=2 or model.filters=64 (repeatable)",
    )
    cluster = train.add_argument_group(
        "multi-process JAX (training.strategy=data_parallel; the "
        "KERAS_DISTRIBUTION_* environment variables do the same)"
    )
    cluster.add_argument(
        "--coordinator_address",
        help="host:port of process 0 (KERAS_DISTRIBUTION_JOB_ADDRESSES)",
    )
    cluster.add_argument(
        "--num_processes",
        type=int,
        help="processes in the cluster (KERAS_DISTRIBUTION_NUM_PROCESSES)",
    )
    cluster.add_argument(
        "--process_id",
        type=int,
        help="this process, 0 … num_processes-1 "
        "(KERAS_DISTRIBUTION_PROCESS_ID)",
    )
    train.add_argument(
        "--restart",
        action="store_true",
        help="discard the backup of an interrupted run in WORKDIR and "
        "train from scratch (default: resume from it)",
    )

    presets = commands.add_parser(
        "presets",
        help="list the trained model presets and the training configs",
    )
    presets.add_argument(
        "name", nargs="?", help="print this training config or preset"
    )

    evaluate = commands.add_parser(
        "evaluate", help="test bits/dim of a run or a preset"
    )
    _model_source(evaluate)
    evaluate.add_argument("--split", default="test")
    evaluate.add_argument(
        "--dataset",
        help="with --preset: dataset to score (default: the preset's own)",
    )
    evaluate.add_argument(
        "--data-dir", help="folder of the dataset files ($KERPIX_DATA_DIR)"
    )

    sample = commands.add_parser("sample", help="write samples.png")
    _model_source(sample)
    sample.add_argument("--num-samples", type=int, default=None)
    sample.add_argument("--seed", type=int, default=None)
    sample.add_argument("--temperature", type=float, default=None)
    sample.add_argument(
        "--method",
        default="cached",
        choices=["cached", "naive"],
        help="cached: one sampling step per pixel (default); naive: re-run "
        "the whole network per sub-pixel (reference)",
    )

    export = commands.add_parser("export", help="SavedModel or ONNX")
    _model_source(export)
    export.add_argument(
        "--format", required=True, choices=["saved_model", "onnx"]
    )
    export.add_argument(
        "--check",
        action="store_true",
        help="reload the artifact and compare log_prob with Keras",
    )
    for sub in (train, evaluate, sample, export):
        sub.add_argument("--verbose", type=int, default=1, choices=[0, 1, 2])

    serve = commands.add_parser(
        "serve",
        help="TF Serving's REST and gRPC APIs over exported SavedModels",
        description="Serve NAME/VERSION/saved_model.pb folders with TF "
        "Serving's REST API (/v1/models/NAME, :predict) and, with --port, "
        "its gRPC API (PredictionService, ModelService); flags named as "
        "tensorflow_model_server's.",
    )
    serve.add_argument("--model_name", default="kerpix")
    serve.add_argument(
        "--model_base_path",
        help="folder holding the numbered versions (the newest is served)",
    )
    serve.add_argument(
        "--preset",
        help="serve this trained preset (exported to a SavedModel in a "
        "temporary folder first) instead of --model_base_path",
    )
    serve.add_argument(
        "--model_config_file",
        help="TF Serving model config (text format): several models, "
        "version policies and labels; replaces --model_name/_base_path",
    )
    serve.add_argument(
        "--rest_api_port",
        type=int,
        default=8501,
        help="REST port (0: pick a free one and print it; -1: no REST)",
    )
    serve.add_argument(
        "--port",
        type=int,
        default=-1,
        help="gRPC port, e.g. 8500 as tensorflow_model_server's default "
        "(0: pick a free one; -1, the default: no gRPC; needs the "
        "'serving' extra)",
    )
    serve.add_argument(
        "--rest_api_host",
        default="127.0.0.1",
        help="address to listen on (0.0.0.0: every interface)",
    )
    serve.add_argument(
        "--file_system_poll_wait_seconds",
        type=float,
        default=1.0,
        help="seconds between looks for new versions on disk (<= 0: never)",
    )
    serve.add_argument(
        "--rest_api_num_threads",
        type=int,
        default=16,
        help="REST requests run at once; more wait, and one that waited "
        "over --rest_api_queue_timeout_s is answered 503 with Retry-After",
    )
    serve.add_argument(
        "--rest_api_queue_timeout_s",
        type=float,
        default=10.0,
        help="seconds a REST request may wait for a free thread (then 503)",
    )
    serve.add_argument(
        "--max_request_bytes",
        type=int,
        default=64 * 2**20,
        help="largest REST body accepted (larger: 413, before reading it)",
    )
    serve.add_argument(
        "--log_requests",
        action="store_true",
        help="print one line per REST request (method, path, status, time)",
    )
    return parser


def _model_source(parser):
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--workdir", help="a `kerpix train` run folder")
    source.add_argument(
        "--preset",
        help="a trained preset's name (`kerpix presets`) or folder",
    )
    parser.add_argument(
        "--output",
        help="with --preset: where to write (default: PRESET_samples.png "
        "for sample, PRESET_saved_model / PRESET_onnx for export)",
    )


def main(argv=None):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    import kerpix

    kerpix.import_submodules()  # after parsing: see kerpix/__init__.py
    try:
        with without_grappler_remapper():
            return COMMANDS[args.command](args)
    except ValueError as error:
        print(f"kerpix {args.command}: error: {error}", file=sys.stderr)
        return 2


def run_train(args):
    from kerpix.training import TrainConfig
    from kerpix.training import train
    from kerpix.training.distribute import PROCESS_ENV

    flags = ("coordinator_address", "num_processes", "process_id")
    for flag, variable in zip(flags, PROCESS_ENV):
        if getattr(args, flag) is not None:
            os.environ[variable] = str(getattr(args, flag))
    config = TrainConfig.from_file(args.config).override(args.override)
    os.makedirs(args.workdir, exist_ok=True)
    with open(os.path.join(args.workdir, "args.txt"), "w") as f:
        f.write(" ".join(["kerpix"] + sys.argv[1:]) + "\n")
    train(config, args.workdir, verbose=args.verbose, restart=args.restart)
    print(f"Trained model written to {args.workdir}/model.keras")
    return 0


def run_presets(args):
    import json

    from kerpix.models.presets import list_presets
    from kerpix.models.presets import read_metadata
    from kerpix.models.presets import resolve_preset
    from kerpix.training.config import TrainConfig
    from kerpix.training.config import describe_presets

    trained = list_presets()
    if args.name in trained:
        print(json.dumps(read_metadata(resolve_preset(args.name)), indent=2))
        return 0
    if args.name:
        print(json.dumps(TrainConfig.from_file(args.name).to_dict(), indent=2))
        return 0
    print("Trained models (DensityModel.from_preset, --preset):")
    for name, summary in trained.items():
        print(f"  {name}: {summary}")
    print("Training configs (kerpix train --config):")
    for name, summary in describe_presets().items():
        print(f"  {name}: {summary}" if summary else f"  {name}")
    return 0


def run_evaluate(args):
    from kerpix.training import evaluate
    from kerpix.training.presets import evaluate_preset

    if args.preset:
        metrics = evaluate_preset(
            args.preset, args.dataset, args.split, args.data_dir, args.verbose
        )
    else:
        _workdir_only(args, "dataset", "data_dir", "output")
        metrics = evaluate(args.workdir, args.split, verbose=args.verbose)
    split = args.split
    print(
        f"{split} NLL: {metrics[f'{split}_nats_per_image']:.2f} nats/image, "
        f"{metrics[f'{split}_bits_per_dim']:.3f} bits/dim "
        f"(uniform baseline: {metrics['uniform_bits_per_dim']:.2f} bits/dim)"
    )
    return 0


def run_sample(args):
    from kerpix.training import sample
    from kerpix.training.presets import sample_preset

    if args.preset:
        draw, source = sample_preset, (args.preset, args.output)
    else:
        _workdir_only(args, "output")
        draw, source = sample, (args.workdir,)
    path = draw(
        *source,
        args.num_samples,
        args.seed,
        args.temperature,
        method=args.method,
        verbose=args.verbose,
    )
    print(f"Samples written to {path}")
    return 0


def run_export(args):
    from kerpix import export
    from kerpix.training.train import load_model

    if args.preset:
        from kerpix.models import DensityModel
        from kerpix.models.presets import resolve_preset

        model = DensityModel.from_preset(args.preset)
        name = os.path.basename(os.path.normpath(resolve_preset(args.preset)))
        target = args.output or f"{name}_{args.format}"
        workdir = None
    else:
        _workdir_only(args, "output")
        model = load_model(args.workdir)
        workdir = args.workdir
        target = os.path.join(args.workdir, args.format)
    if args.format == "saved_model":
        path = export.export_saved_model(model, target, name="kerpix")
    else:
        path = export.export_onnx(model, target)
    print(f"Exported {args.format} to {path}")
    if args.check:
        images = _check_images(model, workdir)
        check = (
            export.check_saved_model
            if args.format == "saved_model"
            else export.check_onnx
        )
        diff = check(model, path, images)
        runtime, whole = (
            ("tf.saved_model.load", "the sample signature")
            if args.format == "saved_model"
            else ("onnxruntime", "sample.onnx")
        )
        print(
            f"Checked with {runtime}: log_prob of {len(images)} images "
            f"matches Keras (max relative difference {diff:.2e}); samples "
            f"driven through sample_step and {whole} on fixed noise equal "
            "Keras's."
        )
    return 0


def run_serve(args):
    import signal
    import threading

    from kerpix.export.model_repository import ModelRepository
    from kerpix.export.rest_server import make_server

    for flag in ("rest_api_port", "port"):
        value = getattr(args, flag)
        if not -1 <= value <= 65535:
            raise ValueError(
                f"Invalid value for argument `--{flag}`. Expected a port in "
                f"[0, 65535] (or -1: off). Received: {value}"
            )
    if args.rest_api_port < 0 and args.port < 0:
        raise ValueError(
            "Invalid value for arguments `--rest_api_port` and `--port`: "
            "both are off (-1). Pass --rest_api_port=8501 and/or --port=8500."
        )
    sources = (args.model_config_file, args.model_base_path, args.preset)
    if sum(source is not None for source in sources) != 1:
        raise ValueError(
            "Invalid value for arguments `--model_base_path` / "
            "`--model_config_file` / `--preset`: pass exactly one of them."
        )
    if args.preset:
        import tempfile

        from kerpix import export
        from kerpix.models import DensityModel

        model = DensityModel.from_preset(args.preset)
        base = tempfile.mkdtemp(prefix="kerpix-serve-")
        args.model_base_path = os.path.dirname(
            export.export_saved_model(model, base, name=args.model_name)
        )
    if args.model_config_file:
        repository = ModelRepository.from_config_file(args.model_config_file)
    else:
        repository = ModelRepository.single(
            args.model_name, args.model_base_path
        )
    stop = threading.Event()
    # SIGTERM (docker stop, kill) and Ctrl-C: finish the requests in
    # flight, close the ports, exit 0. Installed before the "Serving"
    # lines, so a signal sent as soon as they appear is handled.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    closers = []
    if args.rest_api_port >= 0:
        server = make_server(
            host=args.rest_api_host,
            port=args.rest_api_port,
            repository=repository,
            log_requests=args.log_requests,
            num_threads=args.rest_api_num_threads,
            queue_timeout=args.rest_api_queue_timeout_s,
            max_request_bytes=args.max_request_bytes,
        )
        threading.Thread(target=server.serve_forever, daemon=True).start()
        closers.append(lambda: (server.shutdown(), server.server_close()))
        host, port = server.server_address[:2]
        for name in repository.models:
            print(f"Serving {name} at http://{host}:{port}/v1/models/{name}")
    if args.port >= 0:
        from kerpix.export.grpc_server import make_grpc_server

        grpc_server, port = make_grpc_server(
            repository, args.rest_api_host, args.port
        )
        grpc_server.start()
        closers.append(lambda: grpc_server.stop(grace=5).wait())
        print(f"Serving gRPC at {args.rest_api_host}:{port}")
    sys.stdout.flush()
    if args.file_system_poll_wait_seconds > 0:
        closers.append(
            repository.start_polling(args.file_system_poll_wait_seconds).set
        )
    stop.wait()
    for close in reversed(closers):
        close()
    print("kerpix serve: stopped.", flush=True)
    return 0


def _check_images(model, workdir):
    import numpy as np

    path = workdir and os.path.join(workdir, "samples.npy")
    if path and os.path.isfile(path):
        return np.load(path)[:8]
    rng = np.random.default_rng(0)
    return rng.integers(0, model.num_levels, (8,) + model.image_shape)


def _workdir_only(args, *flags):
    for flag in flags:
        if getattr(args, flag, None) is not None:
            raise ValueError(
                f"Invalid value for argument `--{flag.replace('_', '-')}`: "
                "it goes with --preset, not --workdir (a run writes into "
                "its workdir)."
            )


COMMANDS = {
    "presets": run_presets,
    "train": run_train,
    "evaluate": run_evaluate,
    "sample": run_sample,
    "export": run_export,
    "serve": run_serve,
}

if __name__ == "__main__":
    sys.exit(main())
