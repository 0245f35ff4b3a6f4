"""Affinity Distillation: in-silico marginalization of library sequences over backgrounds."""
