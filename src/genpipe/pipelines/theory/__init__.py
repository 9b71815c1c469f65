"""Theory demos of the divergence and GAN lectures: entropy of the weather
examples, KL/JS between Gaussians, forward vs reverse KL, the bilinear game's
Nash equilibrium and the sparse autoencoder's KL penalty."""

from genpipe.pipelines.theory.pipeline import create_pipeline

__all__ = ["create_pipeline"]
