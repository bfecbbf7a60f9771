"""Retraining the found cell: the evaluation network, its recipe, and its config."""
