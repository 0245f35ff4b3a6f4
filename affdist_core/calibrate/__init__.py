"""Calibration of scores against in-vitro measurements: linear fits, samples, interactive subsets."""
