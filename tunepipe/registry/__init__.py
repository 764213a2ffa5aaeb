"""MLflow model registry: register fine-tuned models with lineage and load `models:/NAME@alias`."""

from tunepipe.registry.register import download_model_dir, load_registered, register_model

__all__ = ["download_model_dir", "load_registered", "register_model"]
