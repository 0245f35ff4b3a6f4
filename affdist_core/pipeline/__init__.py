"""The pipeline: stages and the demo run."""
