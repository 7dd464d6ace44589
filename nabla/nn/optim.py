"""Optimizers (placeholder: being written)."""
