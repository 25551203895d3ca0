"""Test harness: causality, normalization and serialization checks, and
the one registry of tiny models every test battery builds from."""

from kerpix.testing.causality import assert_causal
from kerpix.testing.causality import causal_past
from kerpix.testing.causality import gated_receptive_field
from kerpix.testing.causality import masked_conv_receptive_field
from kerpix.testing.causality import pixel_cnn_layers
from kerpix.testing.causality import pixel_rnn_layers
from kerpix.testing.causality import ride_receptive_field
from kerpix.testing.causality import site_gradient
from kerpix.testing.causality import window_receptive_field
from kerpix.testing.gradients import input_gradient
from kerpix.testing.harness import run_density_model_test
from kerpix.testing.step_interface import assert_layer_step_matches_call
from kerpix.testing.step_interface import assert_step_matches_call
from kerpix.testing.test_case import all_images
from kerpix.testing.test_case import assert_normalized
from kerpix.testing.test_case import run_model_saving_test
from kerpix.testing.test_case import run_serialization_test
from kerpix.testing.tiny_models import TINY_MODELS
from kerpix.testing.tiny_models import build_tiny_model
from kerpix.testing.tiny_models import register_tiny_model
