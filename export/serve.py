#!/usr/bin/env python3
"""Serve an exported SavedModel with TF Serving's REST API (port 8501).

    python export/serve.py --model_name=kerpix \
        --model_base_path=saved_models/demo/saved_model/kerpix \
        --rest_api_port=8501

The same as `kerpix serve` (flags named as `tensorflow_model_server`'s:
`--rest_api_port` for REST; `--port`, the real server's gRPC port, must
stay 0 since kerpix serves REST only). Layout and API: export/README.md;
the logic lives in kerpix.export.rest_server.
"""

import sys

from kerpix.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
