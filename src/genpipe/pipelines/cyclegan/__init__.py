"""CycleGAN, unpaired translation MNIST <-> scikit-learn digits, with and
without the cycle loss (`genpipe.models.cyclegan`)."""

from genpipe.pipelines.cyclegan.pipeline import create_pipeline

__all__ = ["create_pipeline"]
