"""The BPNet model: parameters, architecture, training data, training, evaluation, ensembles."""
