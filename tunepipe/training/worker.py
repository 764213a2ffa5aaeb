"""One process of a distributed fine-tuning, as torchrun starts it (`launch`, or a TrainJob's nodes).

    python -m tunepipe.training.worker --config C --train T --val V --out O --digest D [--run-id R]

Joins the process group, then runs `peft_backend.finetune` (with `training.backend=nemo`:
`nemo_backend.finetune_on_node`, `--train` being the NeMo data dir; NeMo sets up its own process
group). Rank 0 continues the MLflow run `R` (the stage run of the launching step) so one run holds the
whole training; the others log nothing. A `TunepipeError` is recorded for the launcher under
`$TUNEPIPE_WORKER_ERRORS`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from tunepipe.config import Config
from tunepipe.errors import TunepipeError
from tunepipe.training import dist
from tunepipe.training.parallel import ERRORS_ENV


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="tunepipe.training.worker")
    for name in ("config", "train", "val", "out", "digest"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--run-id")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    cfg = Config.from_json(Path(args.config).read_text())
    try:
        if cfg.training.backend == "nemo":
            _continue_run(cfg, args.run_id)
            from tunepipe.training.nemo_backend import finetune_on_node

            finetune_on_node(cfg, args.train, args.out, args.digest, dist.rank())
            return 0
        dist.init()
        _continue_run(cfg, args.run_id)
        from tunepipe.training.peft_backend import finetune

        finetune(cfg, args.train, args.val, args.out, args.digest)
    except TunepipeError as err:
        _record(err)
        print(f"rank {dist.rank()}: {err}", file=sys.stderr, flush=True)
        return 1
    finally:
        dist.shutdown()
    return 0


def _continue_run(cfg: Config, run_id: str | None) -> None:
    if not run_id or not dist.is_main():
        return
    import mlflow

    from tunepipe.tracking import setup_mlflow

    setup_mlflow(cfg)
    mlflow.start_run(run_id=run_id)


def _record(err: TunepipeError) -> None:
    errors = os.environ.get(ERRORS_ENV)
    if errors:
        (Path(errors) / f"rank-{dist.rank()}.json").write_text(json.dumps({"message": str(err)}))


if __name__ == "__main__":
    sys.exit(main())
