"""Seconds `kerpix.export.export_onnx` takes for the PixelRNNs.

ONNX export converts the `log_prob` and `sample_step` graphs with tf2onnx,
and `sample.onnx`'s pieces (`pixel_step`, `start_row`, `start_image`)
before assembling its loops; this times the whole export (every file,
checked by nothing else), and each conversion on its own, for the
default Row LSTM and Diagonal BiLSTM PixelRNNs at 28×28×1 and for the
6×6×3 Diagonal BiLSTM whose export once took 495 s (issue 20), each in a
fresh subprocess (no graph caches shared), and writes
`benchmarks/results/onnx_export_time.json`.

    python benchmarks/onnx_export_time.py
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from likelihood import hardware  # noqa: E402
from likelihood import write_result  # noqa: E402

# name: (factory, image shape, num_levels, other arguments); defaults
# otherwise (7 layers, 16 units; RGB needs a multiple of 3: 18).
CASES = {
    "row_lstm_28x28x1": ("RowLSTMPixelRNN", (28, 28, 1), 256, {}),
    "diagonal_bilstm_28x28x1": (
        "DiagonalBiLSTMPixelRNN",
        (28, 28, 1),
        256,
        {},
    ),
    "diagonal_bilstm_6x6x3": (
        "DiagonalBiLSTMPixelRNN",
        (6, 6, 3),
        256,
        {"units": 18},
    ),
}

CHILD = """
import json, sys, tempfile, time
import kerpix
from kerpix.export import export_onnx
factory, shape, levels, kwargs = json.loads(sys.argv[1])
model = getattr(kerpix.models, factory)(
    tuple(shape), num_levels=levels, **kwargs
)
start = time.perf_counter()
timings = {}
export_onnx(model, tempfile.mkdtemp(), timings=timings)
print(json.dumps({"seconds": time.perf_counter() - start,
                  "per_graph_seconds": timings,
                  "num_layers": len(model.backbone.lstms),
                  "units": model.backbone.units}))
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", nargs="+", default=sorted(CASES))
    parser.add_argument(
        "--output",
        default=os.path.join(
            os.path.dirname(__file__), "results", "onnx_export_time.json"
        ),
    )
    args = parser.parse_args(argv)
    results = {}
    for name in args.cases:
        factory, shape, levels, kwargs = CASES[name]
        start = time.perf_counter()
        output = (
            subprocess.run(
                [
                    sys.executable,
                    "-c",
                    CHILD,
                    json.dumps([factory, shape, levels, kwargs]),
                ],
                capture_output=True,
                text=True,
                check=True,
                cwd=tempfile.gettempdir(),
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        result = json.loads(output)
        result.update(
            model=factory,
            image_shape=list(shape),
            arguments=kwargs,
            process_seconds=round(time.perf_counter() - start, 1),
            seconds=round(result["seconds"], 1),
        )
        results[name] = result
        print(
            f"{name}: export_onnx {result['seconds']} s "
            f"{result['per_graph_seconds']}",
            flush=True,
        )
    write_result(
        args.output,
        {
            "results": results,
            "command": "python benchmarks/onnx_export_time.py",
            "hardware": hardware(),
        },
    )
    print(f"-> {args.output}")


if __name__ == "__main__":
    main()
