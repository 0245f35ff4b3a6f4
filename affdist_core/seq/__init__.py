"""DNA sequences: the alphabet and one-hot code, shuffles, motif records."""
