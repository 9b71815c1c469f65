"""The shared training engine every torch model family trains through."""

from genpipe.training.device import DeviceUnavailableError, resolve_device, torch_device
from genpipe.training.engine import NonFiniteLossError, TrainerConfig, fit
from genpipe.training.seed import seed_everything

__all__ = [
    "DeviceUnavailableError",
    "NonFiniteLossError",
    "TrainerConfig",
    "fit",
    "resolve_device",
    "seed_everything",
    "torch_device",
]
