"""`DensityModel`, its families (one class each: `PixelCNN`,
`GatedPixelCNN`, ..., `RIDE`, `MCGSM`) and their backbones."""

from kerpix.models.auto_encoder_density_model import AutoEncoderDensityModel
from kerpix.models.backbone import Backbone
from kerpix.models.density_model import DensityModel
from kerpix.models.families import FAMILIES
from kerpix.models.families import build_model
from kerpix.models.gated_pixel_cnn.gated_pixel_cnn import GatedPixelCNN
from kerpix.models.gated_pixel_cnn.gated_pixel_cnn_backbone import (
    GatedPixelCNNBackbone,
)
from kerpix.models.image_density_model import ImageDensityModel
from kerpix.models.multi_scale_density_model import MultiScaleDensityModel
from kerpix.models.multi_scale_density_model import UpscalingDensityModel
from kerpix.models.pixel_cnn.pixel_cnn import PixelCNN
from kerpix.models.pixel_cnn.pixel_cnn_backbone import PixelCNNBackbone
from kerpix.models.pixel_cnn_auto_encoder.image_encoder import ImageEncoder
from kerpix.models.pixel_cnn_auto_encoder.pixel_cnn_auto_encoder import (
    PixelCNNAutoEncoder,
)
from kerpix.models.pixel_rnn.pixel_rnn import DiagonalBiLSTMPixelRNN
from kerpix.models.pixel_rnn.pixel_rnn import MultiScalePixelRNN
from kerpix.models.pixel_rnn.pixel_rnn import RowLSTMPixelRNN
from kerpix.models.pixel_rnn.pixel_rnn_backbone import PixelRNNBackbone
from kerpix.models.preprocessor import ImageQuantizer
from kerpix.models.presets import list_presets
from kerpix.models.presets import load_preset
from kerpix.models.ride.mcgsm import MCGSM
from kerpix.models.ride.ride import RIDE
from kerpix.models.ride.ride_backbone import RIDEBackbone
