#!/usr/bin/env python3
"""Serve an exported SavedModel with TF Serving's REST API (port 8501).

    python export/serve.py --model_name=kerpix \
        --model_base_path=saved_models/demo/saved_model/kerpix --port=8501

Same flags, layout and API as `tensorflow_model_server --rest_api_port`
(see export/README.md); the logic lives in kerpix.export.rest_server.
"""

import argparse
import os
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model_name", default="kerpix")
    parser.add_argument("--model_base_path", required=True)
    parser.add_argument("--port", type=int, default=8501)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from kerpix.export.rest_server import make_server

    try:
        server = make_server(
            args.model_name, args.model_base_path, args.host, args.port
        )
    except ValueError as error:
        print(f"serve.py: error: {error}", file=sys.stderr)
        return 2
    host, port = server.server_address[:2]
    print(
        f"Serving {args.model_name} at http://{host}:{port}/v1/models/"
        f"{args.model_name}",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
