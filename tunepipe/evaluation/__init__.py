"""Evaluation: metrics, base vs candidate comparison on the test split, and the eval gate."""
