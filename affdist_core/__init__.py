"""Affinity Distillation: ΔΔG distilled from base-resolution models of in-vivo TF binding."""

__version__ = "0.1.0"
