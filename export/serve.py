#!/usr/bin/env python3
"""Serve exported SavedModels with TF Serving's REST (and gRPC) API.

    python export/serve.py --model_name=kerpix \
        --model_base_path=saved_models/demo/saved_model/kerpix \
        --rest_api_port=8501 --port=8500

The same as `kerpix serve`, flags named as `tensorflow_model_server`'s:
`--rest_api_port` (REST), `--port` (gRPC; needs the `serving` extra),
`--model_config_file` (several models, version policies, labels),
`--file_system_poll_wait_seconds`. Layout and API: export/README.md; the
logic lives in kerpix.export (model_repository, rest_server, grpc_server).
"""

import sys

from kerpix.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
