"""Scoring diagnoses against the truth and running benchmarks."""
