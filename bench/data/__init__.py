"""Datasets: the built-in and user sources, their checks, the seeded splits and per-fold features."""
