"""The models a server answers for: versions on disk, version policies,
labels and polling, as `tensorflow_model_server` manages them.

Shared by the REST server (`rest_server.py`) and the gRPC server
(`grpc_server.py`): both ask `ModelRepository.get(name, version, label)`
for a loaded SavedModel and get TF Serving's error messages back.
"""

import os
import threading

import tensorflow as tf

POLICIES = ("latest", "all", "specific")


def quoted(text, limit=100):
    """`text` for an error message, cut to `limit` characters (a client's
    10,000-character model name must not come back whole: gRPC clients
    refuse metadata that large)."""
    text = str(text)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters)"


class ServingError(Exception):
    """A request the server refuses: `status` is the HTTP code (400 bad
    request, 404 not found); the gRPC server maps it to a status code."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


def load_version(path):
    """`tf.saved_model.load(path)`; a damaged or foreign version folder is
    a one-line `ValueError` naming it (never TensorFlow's traceback)."""
    try:
        return tf.saved_model.load(path)
    except Exception as error:
        message = str(error).strip().splitlines()
        reason = quoted(message[0] if message else type(error).__name__, 300)
        raise ValueError(
            f"Cannot load the SavedModel in {path!r} ({type(error).__name__}"
            f": {reason}). Is saved_model.pb complete? Re-export it with "
            "kerpix.export.export_saved_model (or `kerpix export`)."
        ) from None


class ServedModel:
    """One model: the versions under `base_path` its policy selects.

    Args:
        name: str. The name clients use.
        base_path: str. Folder holding one numbered folder per version
            (`VERSION/saved_model.pb`).
        policy: `"latest"` (the newest `num_versions`), `"all"` or
            `"specific"` (the listed `versions`). Defaults to `"latest"`.
        num_versions: int. For `"latest"`. Defaults to `1`.
        versions: ints. For `"specific"`.
        labels: dict `{label: version}` (e.g. `{"stable": 1}`).
    """

    def __init__(
        self,
        name,
        base_path,
        policy="latest",
        num_versions=1,
        versions=(),
        labels=None,
    ):
        if not os.path.isdir(base_path):
            raise ValueError(
                "Invalid value for argument `base_path`: no such folder "
                f"{base_path!r}. Pass the folder holding the numbered "
                "version folders (e.g. saved_models/demo/saved_model/kerpix)."
            )
        if policy not in POLICIES:
            raise ValueError(
                f"Invalid value for argument `policy`. Expected one of "
                f"{list(POLICIES)}. Received: policy={policy!r}"
            )
        self.name = name
        self.base_path = base_path
        self.policy = policy
        self.num_versions = max(1, int(num_versions))
        self.wanted = sorted(int(v) for v in versions)
        self.labels = {str(k): int(v) for k, v in (labels or {}).items()}
        self.loaded = {}
        self.lock = threading.Lock()
        self.refresh()
        if not self.loaded:
            raise ValueError(
                f"Invalid value for argument `base_path`: {base_path!r} has "
                "no VERSION/saved_model.pb that the version policy "
                f"{policy!r} selects. Export one with "
                "kerpix.export.export_saved_model."
            )
        missing = sorted(set(self.labels.values()) - set(self.loaded))
        if missing:
            raise ValueError(
                f"Invalid value for `version_labels` of model {name!r}: "
                f"versions {missing} are not served (served: "
                f"{sorted(self.loaded)})."
            )

    def on_disk(self):
        """Version numbers with a `saved_model.pb` under `base_path`."""
        return sorted(
            int(v)
            for v in os.listdir(self.base_path)
            if v.isdigit()
            and os.path.isfile(
                os.path.join(self.base_path, v, "saved_model.pb")
            )
        )

    def selected(self, available):
        if self.policy == "all":
            return available
        if self.policy == "specific":
            return [v for v in available if v in self.wanted]
        return available[-self.num_versions :]

    def refresh(self):
        """Load new versions the policy selects, drop the ones it no longer
        does (a request holding one keeps it until it returns)."""
        wanted = self.selected(self.on_disk())
        new = {
            v: load_version(os.path.join(self.base_path, str(v)))
            for v in wanted
            if v not in self.loaded
        }
        with self.lock:
            loaded = {v: m for v, m in self.loaded.items() if v in wanted}
            loaded.update(new)
            self.loaded = loaded
        return sorted(new)

    def get(self, version=None, label=None):
        """`(version, loaded SavedModel)`; the newest one by default."""
        loaded = self.loaded
        if label is not None:
            if label not in self.labels:
                raise ServingError(
                    f"Unrecognized servable version label: {quoted(label)}", 404
                )
            version = self.labels[label]
        if version is None:
            if not loaded:
                raise ServingError(
                    f"Servable not found for request: Latest({self.name})",
                    404,
                )
            version = max(loaded)
        version = int(version)
        if version not in loaded:
            raise ServingError(
                "Servable not found for request: "
                f"Specific({self.name}, {version})",
                404,
            )
        return version, loaded[version]


class ModelRepository:
    """The models served, by name; `poll()` picks up new versions.

    Build it with `ModelRepository.single(name, base_path)` (the
    `--model_name`/`--model_base_path` flags) or
    `ModelRepository.from_config_file(path)` (`--model_config_file`, TF
    Serving's text format).
    """

    def __init__(self, models):
        self.models = {m.name: m for m in models}

    @classmethod
    def single(cls, name, base_path):
        return cls([ServedModel(name, base_path)])

    @classmethod
    def from_config_file(cls, path):
        """Models of a `model_config_list` in TF Serving's text format
        (needs the `serving` extra, which has TF Serving's protos)."""
        if not os.path.isfile(path):
            raise ValueError(
                "Invalid value for argument `model_config_file`: no such "
                f"file {path!r}."
            )
        try:
            from google.protobuf import text_format
            from tensorflow_serving.config import model_server_config_pb2
        except ImportError as error:
            raise ImportError(
                "--model_config_file needs TF Serving's protos: pip "
                "install 'kerpix[serving]' (see the README)."
            ) from error
        with open(path) as f:
            text = f.read()
        try:
            config = text_format.Parse(
                text, model_server_config_pb2.ModelServerConfig()
            )
        except text_format.ParseError as error:
            raise ValueError(
                f"Invalid model config file {path!r}: {error}"
            ) from None
        models = []
        for entry in config.model_config_list.config:
            policy = entry.model_version_policy
            choice = policy.WhichOneof("policy_choice") or "latest"
            models.append(
                ServedModel(
                    entry.name,
                    entry.base_path,
                    policy=choice,
                    num_versions=policy.latest.num_versions or 1,
                    versions=list(policy.specific.versions),
                    labels=dict(entry.version_labels),
                )
            )
        if not models:
            raise ValueError(
                f"Invalid model config file {path!r}: it lists no model "
                "(expected model_config_list { config { name: ... "
                "base_path: ... } })."
            )
        return cls(models)

    def model(self, name):
        if name not in self.models:
            raise ServingError(
                f"Servable not found for request: Latest({quoted(name)})", 404
            )
        return self.models[name]

    def get(self, name, version=None, label=None):
        """`(version, loaded SavedModel)` of model `name`."""
        return self.model(name).get(version, label)

    def status(self, name, version=None, label=None):
        """TF Serving's `GetModelStatus` answer as a dict."""
        model = self.model(name)
        if version is not None or label is not None:
            versions = [model.get(version, label)[0]]
        else:
            versions = sorted(model.loaded, reverse=True)
        return {
            "model_version_status": [
                {
                    "version": str(v),
                    "state": "AVAILABLE",
                    "status": {"error_code": "OK", "error_message": ""},
                }
                for v in versions
            ]
        }

    def poll(self):
        """Refresh every model from disk; `{name: new versions}`."""
        return {name: m.refresh() for name, m in self.models.items()}

    def start_polling(self, interval_seconds):
        """Poll every `interval_seconds` in a daemon thread (TF Serving's
        `--file_system_poll_wait_seconds`); returns an `Event` that
        stops it."""
        stop = threading.Event()

        def run():
            while not stop.wait(interval_seconds):
                try:
                    self.poll()
                except Exception as error:  # keep serving what is loaded
                    print(f"kerpix serve: polling failed: {error}", flush=True)

        threading.Thread(target=run, daemon=True).start()
        return stop
