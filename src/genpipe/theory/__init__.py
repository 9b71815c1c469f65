"""Theory demos of the divergence and GAN lectures in numpy/scipy (never
imports kedro): entropy, KL/JS, forward vs reverse KL, the bilinear game, the
sparse autoencoder's KL penalty."""
