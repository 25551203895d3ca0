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

_CODES = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    404: grpc.StatusCode.NOT_FOUND,
}


def _spec_of(request):
    """`(name, version, label)` of a request's `model_spec`."""
    spec = request.model_spec
    version = spec.version.value if spec.HasField("version") else None
    label = spec.version_label or None
    return spec.name, version, label


def _abort(context, error):
    code = _CODES.get(error.status, grpc.StatusCode.INTERNAL)
    context.abort(code, str(error))


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
        try:
            version, model = self.repository.get(*_spec_of(request))
            name = request.model_spec.signature_name or "serving_default"
            specs = rest_server.input_specs(model, name)
            given = set(request.inputs)
            unknown = sorted(given - set(specs))
            missing = sorted(set(specs) - given)
            if unknown or missing:
                raise ServingError(
                    f"Unknown input(s) {unknown}, missing input(s) {missing}; "
                    f"this signature takes {sorted(specs)}"
                )
            tensors = {
                k: _checked_tensor(k, request.inputs[k], specs[k])
                for k in specs
            }
            outputs = rest_server.run_signature(model, name, tensors)
        except ServingError as error:
            return _abort(context, error)
        response = predict_pb2.PredictResponse()
        response.model_spec.name = request.model_spec.name
        response.model_spec.version.value = version
        response.model_spec.signature_name = name
        for key, value in outputs.items():
            response.outputs[key].CopyFrom(tf.make_tensor_proto(value.numpy()))
        return response

    def GetModelMetadata(self, request, context):
        try:
            if list(request.metadata_field) != ["signature_def"]:
                raise ServingError(
                    "Metadata field(s) "
                    f"{list(request.metadata_field)} not supported: ask for "
                    "['signature_def']"
                )
            version, model = self.repository.get(*_spec_of(request))
        except ServingError as error:
            return _abort(context, error)
        signature_map = get_model_metadata_pb2.SignatureDefMap()
        for key, (inputs, outputs) in rest_server.signature_defs(model).items():
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


class ModelService(model_service_pb2_grpc.ModelServiceServicer):
    """`GetModelStatus` over a `ModelRepository`."""

    def __init__(self, repository):
        self.repository = repository

    def GetModelStatus(self, request, context):
        try:
            status = self.repository.status(*_spec_of(request))
        except ServingError as error:
            return _abort(context, error)
        response = get_model_status_pb2.GetModelStatusResponse()
        for entry in status["model_version_status"]:
            version = response.model_version_status.add()
            version.version = int(entry["version"])
            version.state = get_model_status_pb2.ModelVersionStatus.AVAILABLE
        return response


def _checked_tensor(name, proto, spec):
    """A request's TensorProto as a tensor of the signature's dtype and
    shape; any other dtype or shape is an INVALID_ARGUMENT."""
    try:
        array = tf.make_ndarray(proto)
    except (TypeError, ValueError) as error:
        raise ServingError(f"Input '{name}': unreadable tensor ({error})")
    if tf.as_dtype(proto.dtype) != spec.dtype:
        raise ServingError(
            f"Input '{name}': expects dtype {spec.dtype.name}; received "
            f"{tf.as_dtype(proto.dtype).name}"
        )
    rest_server.check_shape(name, array, spec)
    return tf.constant(np.asarray(array))


def make_grpc_server(repository, host="127.0.0.1", port=8500, workers=8):
    """A started-on-`start()` gRPC server with both services.

    Returns:
        `(server, port)`: the `grpc.Server` and the port bound (`port=0`
        picks a free one).
    """
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=workers))
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
