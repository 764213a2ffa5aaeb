"""The init container of a serving pod: a registered version's HF weights, and LoRA adapters, onto /models.

    python -m tunepipe.deploy.fetch --model-uri models:/NAME/VERSION --out /models/model [--adapter NAME=URI]

MLFLOW_TRACKING_URI in the environment names the store. Adapters land in /models/adapters/<NAME>.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from tunepipe.config import Config
from tunepipe.deploy.trtllm import ADAPTER_ROOT
from tunepipe.errors import TunepipeError


def _config() -> Config:
    raw = {"data": {"paths": ["(unused)"]}, "project": {"data_dir": "/tmp/tunepipe"}}
    if os.environ.get("MLFLOW_TRACKING_URI"):
        raw["mlflow"] = {"tracking_uri": os.environ["MLFLOW_TRACKING_URI"]}
    return Config.model_validate(raw)


def fetch(cfg: Config, model_uri: str, out: str, adapters: dict[str, str], adapter_root: str = ADAPTER_ROOT) -> dict:
    """Download the model (flattened to one HF dir) and each adapter dir; the paths written."""
    import mlflow

    from tunepipe import tracking
    from tunepipe.registry.register import download_model_dir

    paths = {"model": download_model_dir(cfg, model_uri, out)}
    tracking.setup_mlflow(cfg)
    for name, uri in adapters.items():
        dst = Path(adapter_root) / name
        dst.mkdir(parents=True, exist_ok=True)
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(dst)))
        if not (local / "adapter_config.json").is_file():
            raise TunepipeError(f"adapter {name} ({uri}) has no adapter_config.json: "
                                "point serving.trtllm.adapters[].uri at a PEFT adapter directory")
        paths[name] = str(local)
    return paths


def _adapter(spec: str) -> tuple[str, str]:
    name, sep, uri = spec.partition("=")
    if not sep or not name or not uri:
        raise argparse.ArgumentTypeError(f"--adapter takes NAME=URI, got {spec!r}")
    return name, uri


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-uri", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--adapter", type=_adapter, action="append", default=[])
    args = parser.parse_args(argv)
    for name, path in fetch(_config(), args.model_uri, args.out, dict(args.adapter)).items():
        print(f"{name}: {path}", flush=True)


if __name__ == "__main__":
    main()
