"""OpenAI-compatible CPU serving of a trained model, and the serving smoke test."""
