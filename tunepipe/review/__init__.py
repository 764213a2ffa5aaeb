"""The dataset review report: what a human reads before approving a digest."""
