"""The fine-tuning backends by name (`training.backend`), each behind the `contract.Backend` protocol."""

from __future__ import annotations

import importlib

from tunepipe.errors import TunepipeError
from tunepipe.training.contract import Backend

BACKENDS = {"peft": ("tunepipe.training.peft_backend", "PEFT"), "nemo": ("tunepipe.training.nemo_backend", "NEMO")}


def backend(name: str) -> Backend:
    """The backend object, imported only when asked for (NeMo exists only in its own image)."""
    if name not in BACKENDS:
        raise TunepipeError(f"unknown training.backend {name!r}: use one of {', '.join(BACKENDS)}")
    module, attr = BACKENDS[name]
    return getattr(importlib.import_module(module), attr)
