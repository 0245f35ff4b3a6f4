"""Motif baselines: PWM scoring, STREME, Weeder, JASPAR and MoDISco motifs."""
