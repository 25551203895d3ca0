"""Training, evaluation and sampling runs (may import TensorFlow)."""

from kerpix.training.callbacks import TimeBudget
from kerpix.training.config import TrainConfig
from kerpix.training.distribute import get_strategy
from kerpix.training.ride_finetuning import finetune_mcgsm
from kerpix.training.ride_training import train_mcgsm
from kerpix.training.ride_training import train_ride
from kerpix.training.train import evaluate
from kerpix.training.train import sample
from kerpix.training.train import train
