"""Base vs candidate vs champion on the same held-out rows: the evidence a reviewer promotes on.

`evaluate` (the pipeline stage) and `evaluate_models` (`tunepipe evaluate`) score every model on the same
rows with the same prompts, compute paired-bootstrap intervals of each candidate's gain over base and over
the current champion, per-slice tables and the examples with the largest wins and regressions, run the
gate, write `evaluation.json`, the HTML and Markdown report, and log it all to the active MLflow run. The
result follows the evaluation contract that tunepipe.evaluation.report renders.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from tunepipe import artifacts
from tunepipe.config import Config
from tunepipe.errors import TunepipeError
from tunepipe.evaluation import bootstrap, cache, champion as champions
from tunepipe.evaluation.metrics import LOSS_METRICS, TEXT_METRICS

EXAMPLES_EACH_WAY = 3


def evaluate(cfg: Config, model_dir: str, test_dir: str, html_path: str) -> dict:
    """The fine-tuned candidate in `model_dir` against base and champion (the pipeline's evaluate stage)."""
    from tunepipe.training.methods import trained_model_dir

    candidate = str(trained_model_dir(model_dir))
    return evaluate_models(cfg, {"candidate": candidate}, cfg.split.fixed_test_dir or test_dir, html_path,
                           against_champion=True)


def evaluate_models(cfg: Config, candidates: dict[str, str], test_dir: str, html_path: str,
                    against_champion: bool = True) -> dict:
    """Score base, `candidates` ({name: local dir or models:/ URI}) and the champion; return the result.

    Every candidate is gated on its own (`result["gates"]`); `result["gate"]` is the first one's decision,
    the one the pipeline registers on."""
    frame = _read_test(test_dir)
    rows = _rows(cfg, frame)
    digest = _digest(frame)
    champion = champions.resolve_champion(cfg) if against_champion else None
    refs = {"base": cfg.model.base, **candidates, **({"champion": champion["uri"]} if champion else {})}
    scores = {name: _scores(cfg, name, ref, rows, digest) for name, ref in refs.items()}
    result = build_result(cfg, test_dir, digest, len(frame), refs, champion, rows, scores)
    from tunepipe.evaluation.gate import decide

    result["gates"] = {name: decide(cfg, result, name) for name in candidates}
    result["gate"] = result["gates"][next(iter(candidates))]
    _write(cfg, result, Path(html_path))
    _log(result, Path(html_path))
    return result


def _read_test(test_dir: str):
    if not Path(test_dir).exists():
        raise TunepipeError(f"test split {test_dir} does not exist: run the split stage, or fix split.fixed_test_dir")
    frame = artifacts.read_parquet_dir(test_dir)
    if frame.empty:
        raise TunepipeError(f"the test split {test_dir} is empty: raise split.test or add data")
    return frame


def _rows(cfg: Config, frame) -> list[dict]:
    n = max(cfg.evaluation.max_loss_rows, cfg.evaluation.max_samples)
    rows = frame.head(n).to_dict("records")
    for row in rows:
        if row.get("context") is not None and row["context"] != row["context"]:
            row["context"] = None
    return rows


def _digest(frame) -> str:
    from tunepipe.digest import pandas_digest

    return pandas_digest(frame)


def _identity(cfg: Config, name: str, ref: str) -> str | None:
    """What a cached score is keyed on; None for a model that may change (a fresh candidate dir)."""
    if ref.startswith("models:/") and "@" not in ref:
        mv_name, version = ref[len("models:/"):].rsplit("/", 1)
        from tunepipe import tracking

        run_id = tracking.client(cfg).get_model_version(mv_name, version).run_id
        return f"{ref}#{run_id}"
    if name == "base":
        from tunepipe.training.models import resolve_base_model

        return cache.dir_identity(resolve_base_model(cfg))
    return None


def _local_dir(cfg: Config, name: str, ref: str) -> str:
    if name == "base":
        from tunepipe.training.models import resolve_base_model

        return resolve_base_model(cfg)
    if ref.startswith("models:/"):
        from tunepipe.registry.register import download_model_dir

        return download_model_dir(cfg, ref)
    from tunepipe.training.methods import trained_model_dir

    path = Path(ref)
    if (path / "config.json").is_file() or (path / "adapter_config.json").is_file():
        return str(path)
    return str(trained_model_dir(path))


def _scores(cfg: Config, name: str, ref: str, rows: list[dict], digest: str) -> dict:
    from tunepipe.evaluation.scoring import score_model

    identity = _identity(cfg, name, ref)
    key = cache.key(cfg, identity, digest) if identity else None
    cached = cache.load(cfg, key) if key else None
    if cached is not None:
        return {**cached, "cached": True}
    scores = score_model(cfg, _local_dir(cfg, name, ref), rows)
    judge_failed = any((r or "").startswith("judge") for r in (scores.get("reasons") or {}).values())
    if key and not judge_failed:
        cache.save(cfg, key, scores)
    return {**scores, "cached": False}


def metric_names(scores: dict[str, dict]) -> list[str]:
    extra = sorted({k for s in scores.values() for k in s if k.startswith("ragas.")})
    return [*LOSS_METRICS, *TEXT_METRICS, *extra]


def _metric_table(scores: dict, names: list[str]) -> dict:
    table = {}
    for metric in names:
        if metric not in LOSS_METRICS and metric not in scores:
            continue
        value, n = bootstrap.value(metric, scores)
        reason = (scores.get("reasons") or {}).get(metric) if value is None else None
        table[metric] = {"value": value, "n": n, "reason": reason or (None if value is not None else "no row scored")}
    return table


def _deltas(cfg: Config, scores: dict, names: list[str]) -> dict:
    out = {}
    for model in (m for m in scores if m not in ("base", "champion")):
        for reference in (r for r in ("base", "champion") if r in scores):
            pair = {}
            for metric in names:
                if metric in LOSS_METRICS or (metric in scores[model] and metric in scores[reference]):
                    delta = bootstrap.paired_delta(metric, scores[model], scores[reference],
                                                   cfg.evaluation.bootstrap_resamples)
                    if delta is not None:
                        pair[metric] = delta
            out[f"{model}-{reference}"] = pair
    return out


def build_result(cfg: Config, test_dir: str, digest: str, n_rows: int, refs: dict, champion: dict | None,
                 rows: list[dict], scores: dict) -> dict:
    names = metric_names(scores)
    models = {name: {"ref": ref} for name, ref in refs.items() if name != "champion"}
    models["champion"] = {"ref": champion["ref"], "version": champion["version"]} if champion else None
    for name in models:
        if models[name] is not None:
            models[name]["cached"] = scores[name]["cached"]
    n_loss = min(len(rows), cfg.evaluation.max_loss_rows)
    return {
        "test": {"dir": str(test_dir), "digest": digest, "n_rows": n_rows, "fixed": bool(cfg.split.fixed_test_dir),
                 "n_loss_rows": n_loss, "n_generated": min(len(rows), cfg.evaluation.max_samples),
                 "n_truncated": scores["base"]["n_truncated"], "n_too_long": scores["base"]["n_dropped"]},
        "models": models,
        "champion_note": champions.note(cfg, champion),
        "metrics": {name: _metric_table(s, names) for name, s in scores.items()},
        "deltas": _deltas(cfg, scores, names),
        "slices": bootstrap.slices(rows, {m: s for m, s in scores.items()}, names),
        "examples": examples(rows, scores),
    }


def examples(rows: list[dict], scores: dict) -> list[dict]:
    """The generated rows where the candidate gained most and lost most ROUGE-L against base."""
    cand, base = scores.get("candidate"), scores["base"]
    if cand is None:
        return []
    diffs = [(c - b, i) for i, (c, b) in enumerate(zip(cand["rouge_l"], base["rouge_l"])) if not math.isnan(c - b)]
    diffs.sort(reverse=True)
    picked = [("win", i) for d, i in diffs[:EXAMPLES_EACH_WAY] if d > 0]
    picked += [("regression", i) for d, i in diffs[::-1][:EXAMPLES_EACH_WAY] if d < 0]
    return [_example(rows[i], i, kind, scores) for kind, i in picked]


def _example(row: dict, i: int, kind: str, scores: dict) -> dict:
    context = row.get("context")
    return {
        "kind": kind, "prompt": row["prompt"], "reference": row["response"],
        "contexts": [c for c in context.split("\n\n") if c.strip()] if context else None,
        "shape": row.get("shape") or "", "source": Path(str(row.get("source") or "")).name,
        "answers": {m: s["answers"][i] for m, s in scores.items()},
        "scores": {m: {k: s[k][i] for k in TEXT_METRICS} for m, s in scores.items()},
    }


def _write(cfg: Config, result: dict, html_path: Path) -> None:
    from tunepipe.evaluation.report import write_report

    html_path.parent.mkdir(parents=True, exist_ok=True)
    (html_path.parent / "evaluation.json").write_text(json.dumps(result, indent=1, default=str))
    write_report(cfg, result, html_path, html_path.with_suffix(".md"))


def logged_metrics(result: dict) -> dict[str, float]:
    """Flat numeric view for MLflow and the KFP Metrics artifact: values, and deltas with their bounds."""
    out = {f"{model}.{metric}": v["value"] for model, table in result["metrics"].items()
           for metric, v in table.items() if v["value"] is not None}
    for pair, table in result["deltas"].items():
        for metric, d in table.items():
            out.update({f"delta.{pair}.{metric}": d["value"], f"delta.{pair}.{metric}.low": d["low"],
                        f"delta.{pair}.{metric}.high": d["high"]})
    return {k.replace("ragas.", "ragas_"): float(v) for k, v in out.items() if math.isfinite(v)}


def _log(result: dict, html_path: Path) -> None:
    import mlflow

    if mlflow.active_run() is None:
        return
    mlflow.log_metrics(logged_metrics(result))
    test = result["test"]
    mlflow.log_params({"eval_n_rows": test["n_rows"], "eval_n_loss": test["n_loss_rows"],
                       "eval_n_generated": test["n_generated"], "eval_fixed_test": test["fixed"]})
    champion = result["models"]["champion"]
    mlflow.set_tags({"tunepipe.eval.test_digest": test["digest"],
                     "tunepipe.eval.champion_version": champion["version"] if champion else "none"})
    for path, suffix in ((html_path, ".html"), (html_path.with_suffix(".md"), ".md"),
                         (html_path.parent / "evaluation.json", ".json")):
        if path.is_file():
            name = path.name if path.suffix == suffix else f"evaluation{suffix}"
            mlflow.log_text(path.read_text(encoding="utf-8"), name)
