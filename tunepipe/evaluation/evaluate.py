"""Base model vs fine-tuned candidate on the held-out test split, with a self-contained HTML report.

Both models are scored the same way: mean answer-token loss over the test rows (up to
evaluation.max_loss_rows), and ROUGE-L F1 of greedy generations for the first `evaluation.max_samples` rows,
prompted exactly as at training and serving time (same chat template and system prompt).
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

from tunepipe import artifacts
from tunepipe.config import Config
from tunepipe.errors import TunepipeError

REPORT_EXAMPLES = 5
MODELS = ("base", "candidate")


def evaluate(cfg: Config, model_dir: str, test_dir: str, html_path: str) -> dict:
    """Score base and candidate on the test split; write the HTML report; return the metrics."""
    frame = artifacts.read_parquet_dir(test_dir)
    if frame.empty:
        raise TunepipeError(f"the test split {test_dir} is empty: raise split.test or add data")
    from tunepipe.training.methods import trained_model_dir
    from tunepipe.training.models import resolve_base_model

    dirs = {"base": resolve_base_model(cfg), "candidate": str(trained_model_dir(model_dir))}
    loss_rows = frame.head(cfg.evaluation.max_loss_rows)
    gen_rows = frame.head(cfg.evaluation.max_samples)
    scores, answers = {}, {}
    for which in MODELS:
        scores[which], answers[which], n_loss = score_model(cfg, dirs[which], loss_rows, gen_rows)
    result = {
        "n_loss": n_loss,
        "n_generated": len(gen_rows),
        "base": scores["base"],
        "candidate": scores["candidate"],
        "examples": _examples(gen_rows, answers),
    }
    write_report(cfg, result, Path(html_path))
    _log(result, html_path)
    return result


def score_model(cfg: Config, model_dir: str, loss_rows, gen_rows) -> tuple[dict, list[dict], int]:
    """({loss, rouge_l}, per-row generations, rows scored for loss) for one model directory."""
    from tunepipe.evaluation.metrics import answer_token_loss, mean, rouge_l
    from tunepipe.training.data import encode_frame
    from tunepipe.training.methods import load_trained
    from tunepipe.training.peft_backend import set_threads

    set_threads()
    model, tokenizer = load_trained(cfg, model_dir)
    examples, _, _ = encode_frame(cfg, tokenizer, loss_rows, cfg.model.max_seq_len)
    if not examples:
        raise TunepipeError(f"no test row fits model.max_seq_len={cfg.model.max_seq_len}: raise it")
    loss = answer_token_loss(model, examples, tokenizer.pad_token_id, cfg.evaluation.batch_size)
    predictions = generate_answers(cfg, model, tokenizer, gen_rows)
    references = list(gen_rows["response"])
    rouge = rouge_l(predictions, references)
    per_row = [{"prediction": p, "rouge_l": r} for p, r in zip(predictions, rouge)]
    return {"loss": round(loss, 4), "rouge_l": round(mean(rouge), 4)}, per_row, len(examples)


def generate_answers(cfg: Config, model, tokenizer, rows) -> list[str]:
    """Greedy answers in batches, left-padded, prompts cut from the left to model.max_seq_len."""
    import torch

    from tunepipe.training.data import prompt_messages, prompt_text

    tokenizer.padding_side, tokenizer.truncation_side = "left", "left"
    records = rows.to_dict("records")
    prompts = [prompt_text(tokenizer, prompt_messages(cfg, r["prompt"], r.get("context"))) for r in records]
    answers: list[str] = []
    size = cfg.evaluation.batch_size
    for start in range(0, len(prompts), size):
        batch = tokenizer(
            prompts[start:start + size], return_tensors="pt", padding=True, truncation=True,
            max_length=cfg.model.max_seq_len, add_special_tokens=False,
        )
        with torch.no_grad():
            out = model.generate(
                **batch, max_new_tokens=cfg.evaluation.max_new_tokens, do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
            )
        new = out[:, batch["input_ids"].shape[1]:]
        answers += [t.strip() for t in tokenizer.batch_decode(new, skip_special_tokens=True)]
    return answers


def _examples(rows, answers: dict) -> list[dict]:
    out = []
    for i, record in enumerate(rows.head(REPORT_EXAMPLES).to_dict("records")):
        out.append({
            "prompt": record["prompt"],
            "reference": record["response"],
            **{which: answers[which][i]["prediction"] for which in MODELS},
            **{f"{which}_rouge_l": round(answers[which][i]["rouge_l"], 4) for which in MODELS},
        })
    return out


def _chart(result: dict) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
    for ax, metric, title in zip(axes, ("loss", "rouge_l"), ("answer loss (lower is better)", "ROUGE-L (higher is better)")):
        values = [result[which][metric] for which in MODELS]
        bars = ax.bar(MODELS, values, color=["#9aa5b1", "#2f80ed"])
        ax.bar_label(bars, fmt="%.3f")
        ax.set_title(title, fontsize=10)
        ax.margins(y=0.2)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def write_report(cfg: Config, result: dict, path: Path) -> None:
    """One HTML file, no external resources: summary table, chart, and a few generated examples."""
    e = html.escape
    rows = "".join(
        f"<tr><td>{which}</td><td>{result[which]['loss']:.4f}</td><td>{result[which]['rouge_l']:.4f}</td></tr>"
        for which in MODELS
    )
    examples = "".join(
        f"<tr><td>{e(x['prompt'])}</td><td>{e(x['reference'])}</td>"
        f"<td>{e(x['base'])}<br><small>ROUGE-L {x['base_rouge_l']:.3f}</small></td>"
        f"<td>{e(x['candidate'])}<br><small>ROUGE-L {x['candidate_rouge_l']:.3f}</small></td></tr>"
        for x in result["examples"]
    )
    gain = result["candidate"]["rouge_l"] - result["base"]["rouge_l"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"""<!doctype html>
<html><head><meta charset="utf-8"><title>tunepipe evaluation</title>
<style>body{{font-family:sans-serif;max-width:960px;margin:2em auto}}table{{border-collapse:collapse;width:100%}}
td,th{{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}}th{{background:#f3f3f3}}</style>
</head><body>
<h1>Evaluation: {e(cfg.registry.model_name)} candidate vs base ({e(cfg.model.base)})</h1>
<p>Answer loss over {result['n_loss']} test rows; ROUGE-L of greedy answers (max {cfg.evaluation.max_new_tokens}
new tokens) on {result['n_generated']} rows. ROUGE-L gain: <b>{gain:+.4f}</b>.</p>
<table><tr><th>model</th><th>answer loss</th><th>ROUGE-L</th></tr>{rows}</table>
<p><img alt="base vs candidate" src="data:image/png;base64,{_chart(result)}"></p>
<h2>Examples</h2>
<table><tr><th>prompt</th><th>reference</th><th>base</th><th>candidate</th></tr>{examples}</table>
</body></html>
""")


def _log(result: dict, html_path: str) -> None:
    import mlflow

    if mlflow.active_run() is None:
        return
    metrics = {f"{which}_{k}": v for which in MODELS for k, v in result[which].items()}
    metrics["rouge_l_gain"] = result["candidate"]["rouge_l"] - result["base"]["rouge_l"]
    metrics["loss_delta"] = result["candidate"]["loss"] - result["base"]["loss"]
    mlflow.log_metrics(metrics)
    mlflow.log_params({"eval_n_loss": result["n_loss"], "eval_n_generated": result["n_generated"]})
    mlflow.log_artifact(html_path)
