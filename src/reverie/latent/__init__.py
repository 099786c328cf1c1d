"""Latent spaces: the analogy and interpolation arithmetic shared by every learned
representation (word vectors, a generator's codes); see `latent.analogy`."""
