"""Model interpretation: DeepSHAP contributions, TF-MoDISco motifs, contribution tracks."""
