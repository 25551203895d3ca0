"""TF Serving's gRPC API over exported SavedModels.

`PredictionService` (`Predict`, `GetModelMetadata`) and `ModelService`
(`GetModelStatus`), answering the official `tensorflow-serving-api`
client stubs exactly as `tensorflow_model_server --port` does, over the
same `ModelRepository` as the REST server. Needs the `serving` extra
(`grpcio` and TF Serving's protos).
"""

from concurrent import futures

import grpc
import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import meta_graph_pb2
from tensorflow_serving.apis import get_model_metadata_pb2
from tensorflow_serving.apis import get_model_status_pb2
from tensorflow_serving.apis import model_service_pb2_grpc
from tensorflow_serving.apis import predict_pb2
from tensorflow_serving.apis import prediction_service_pb2_grpc

from kerpix.export import rest_server
from kerpix.export.model_repository import ServingError
from kerpix.export.model_repository import quoted

_CODES = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    404: grpc.StatusCode.NOT_FOUND,
    413: grpc.StatusCode.RESOURCE_EXHAUSTED,
}
# The most values one input tensor of a request may hold (a shape such
# as [10**9, 8, 8, 1] with one `int_val` would be filled to 238 GiB).
MAX_TENSOR_VALUES = 2**26


def _spec_of(request):
    """`(name, version, label)` of a request's `model_spec`."""
    spec = request.model_spec
    version = spec.version.value if spec.HasField("version") else None
    label = spec.version_label or None
    return spec.name, version, label


def _abort(context, error):
    code = _CODES.get(error.status, grpc.StatusCode.INTERNAL)
    context.abort(code, str(error))


def _answer(context, parse, run):
    """`run(parse())`, with TF Serving's statuses: a `ServingError` is its
    code, any other fault while reading the request INVALID_ARGUMENT (the
    request's), while running it INTERNAL; never UNKNOWN."""
    try:
        request = parse()
    except ServingError as error:
        return _abort(context, error)
    except Exception as error:
        return context.abort(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"Malformed request: {type(error).__name__}: {quoted(error, 200)}",
        )
    try:
        return run(request)
    except ServingError as error:
        return _abort(context, error)
    except Exception as error:
        return context.abort(
            grpc.StatusCode.INTERNAL,
            f"Internal error: {type(error).__name__}: {quoted(error, 300)}",
        )


def _tensor_info(spec):
    info = meta_graph_pb2.TensorInfo(
        name=spec.name or "", dtype=spec.dtype.as_datatype_enum
    )
    info.tensor_shape.CopyFrom(spec.shape.as_proto())
    return info


class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    """`Predict` and `GetModelMetadata` over a `ModelRepository`."""

    def __init__(self, repository):
        self.repository = repository

    def Predict(self, request, context):
        def parse():
            version, model = self.repository.get(*_spec_of(request))
            name = request.model_spec.signature_name or "serving_default"
            specs = rest_server.input_specs(model, name)
            given = set(request.inputs)
            unknown = sorted(given - set(specs))
            missing = sorted(set(specs) - given)
            if unknown or missing:
                raise ServingError(
                    f"Unknown input(s) {quoted(unknown)}, missing input(s) "
                    f"{missing}; this signature takes {sorted(specs)}"
                )
            tensors = {
                k: _checked_tensor(k, request.inputs[k], specs[k])
                for k in specs
            }
            return version, model, name, tensors

        def run(parsed):
            version, model, name, tensors = parsed
            outputs = rest_server.run_signature(model, name, tensors)
            response = predict_pb2.PredictResponse()
            response.model_spec.name = request.model_spec.name
            response.model_spec.version.value = version
            response.model_spec.signature_name = name
            for key, value in outputs.items():
                response.outputs[key].CopyFrom(
                    tf.make_tensor_proto(value.numpy())
                )
            return response

        return _answer(context, parse, run)

    def GetModelMetadata(self, request, context):
        def parse():
            if list(request.metadata_field) != ["signature_def"]:
                raise ServingError(
                    "Metadata field(s) "
                    f"{quoted(list(request.metadata_field))} not supported: "
                    "ask for ['signature_def']"
                )
            return self.repository.get(*_spec_of(request))

        def run(parsed):
            version, model = parsed
            signature_map = get_model_metadata_pb2.SignatureDefMap()
            for key, (inputs, outputs) in rest_server.signature_defs(
                model
            ).items():
                definition = signature_map.signature_def[key]
                definition.method_name = "tensorflow/serving/predict"
                for k, spec in inputs.items():
                    definition.inputs[k].CopyFrom(_tensor_info(spec))
                for k, spec in outputs.items():
                    definition.outputs[k].CopyFrom(_tensor_info(spec))
            response = get_model_metadata_pb2.GetModelMetadataResponse()
            response.model_spec.name = request.model_spec.name
            response.model_spec.version.value = version
            response.metadata["signature_def"].Pack(signature_map)
            return response

        return _answer(context, parse, run)


class ModelService(model_service_pb2_grpc.ModelServiceServicer):
    """`GetModelStatus` over a `ModelRepository`."""

    def __init__(self, repository):
        self.repository = repository

    def GetModelStatus(self, request, context):
        def run(status):
            response = get_model_status_pb2.GetModelStatusResponse()
            for entry in status["model_version_status"]:
                version = response.model_version_status.add()
                version.version = int(entry["version"])
                version.state = (
                    get_model_status_pb2.ModelVersionStatus.AVAILABLE
                )
            return response

        return _answer(
            context, lambda: self.repository.status(*_spec_of(request)), run
        )


def _checked_tensor(name, proto, spec):
    """A request's TensorProto as a tensor of the signature's dtype and
    shape; any other dtype or shape is an INVALID_ARGUMENT, checked on the
    proto's header before its values are read or filled out."""
    expected = spec.dtype.as_datatype_enum
    if proto.dtype != expected:
        raise ServingError(
            f"Input '{name}': expects dtype {_dtype_name(expected)}; "
            f"received {_dtype_name(proto.dtype)}"
        )
    if proto.tensor_shape.unknown_rank:
        raise ServingError(f"Input '{name}': the tensor_shape has no rank")
    shape = [d.size for d in proto.tensor_shape.dim]
    rest_server.check_shape(name, shape, spec)
    if any(size < 0 for size in shape):
        raise ServingError(f"Input '{name}': negative size in shape {shape}")
    count = int(np.prod(shape, dtype=object))
    if count > MAX_TENSOR_VALUES:
        raise ServingError(
            f"Input '{name}': shape {shape} holds {count} values; at most "
            f"{MAX_TENSOR_VALUES} per request",
            413,
        )
    try:
        array = tf.make_ndarray(proto)
    except Exception as error:
        raise ServingError(
            f"Input '{name}': unreadable tensor ({type(error).__name__}: "
            f"{quoted(error, 200)})"
        ) from None
    return tf.constant(np.asarray(array))


def _dtype_name(enum):
    """`int32`, `float32`, ... of a DataType enum; any number a client
    sends (DT_RESOURCE, DT_VARIANT, 12345) is named, never a KeyError."""
    try:
        return tf.as_dtype(enum).name
    except (TypeError, ValueError, KeyError):
        return f"DataType {enum}"


def make_grpc_server(
    repository, host="127.0.0.1", port=8500, workers=8, max_concurrent_rpcs=64
):
    """A started-on-`start()` gRPC server with both services.

    `workers` calls run at once, up to `max_concurrent_rpcs` are accepted
    (running or queued); beyond that a call ends `RESOURCE_EXHAUSTED` at
    once (a client retries it), never a hang.

    Returns:
        `(server, port)`: the `grpc.Server` and the port bound (`port=0`
        picks a free one).
    """
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=workers),
        maximum_concurrent_rpcs=max_concurrent_rpcs,
    )
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        PredictionService(repository), server
    )
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(
        ModelService(repository), server
    )
    bound = server.add_insecure_port(f"{host}:{port}")
    if not bound:
        raise ValueError(
            f"Invalid value for argument `port`: cannot listen on "
            f"{host}:{port} (in use?)."
        )
    return server, bound
