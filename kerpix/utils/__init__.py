"""Small helpers shared by the CLI and training (image grids)."""

from kerpix.utils.image_grid import image_grid
from kerpix.utils.image_grid import save_image_grid
