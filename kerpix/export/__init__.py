"""Export to SavedModel (TF Serving layout) and ONNX; imports TensorFlow."""

from kerpix.export.onnx import check_onnx
from kerpix.export.onnx import export_onnx
from kerpix.export.saved_model import check_saved_model
from kerpix.export.saved_model import export_saved_model
from kerpix.export.saved_model import load_saved_model
from kerpix.export.signatures import signature
