"""KFP pipeline definitions (wiring only), compilation for a cluster, submission, and local runs."""
