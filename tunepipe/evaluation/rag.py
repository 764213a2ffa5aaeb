"""RAG metrics of generated answers, computed by ragas 0.4.3 itself (nothing re-implemented here).

Every RAG row gets ragas's non-LLM metrics (string similarity, ROUGE-L, BLEU); context precision and
recall need the row's `reference_contexts` as well as the contexts the model was given. The LLM-judged
metrics (faithfulness, factual correctness, answer relevancy) run only when `evaluation.judge` names an
OpenAI-compatible endpoint. ragas asks the judge for JSON (`response_format`); a judge that is
unreachable, slow, or replies with something that is not the JSON asked for leaves the metric's value
None with the reason, never 0. ragas is imported inside the functions: it is heavy.
"""

from __future__ import annotations

import asyncio
import math
import os
from collections import Counter
from typing import Any, Awaitable, Callable

from tunepipe.config import Config
from tunepipe.errors import TunepipeError

PREFIX = "ragas."
STRING_METRICS = ("non_llm_string_similarity", "rouge_score", "bleu_score")
CONTEXT_METRICS = ("non_llm_context_precision_with_reference", "non_llm_context_recall")
JUDGED_METRICS = ("faithfulness", "factual_correctness", "answer_relevancy")
NO_REFERENCE_CONTEXTS = "the row has no reference_contexts (gold passages) to compare its contexts with"


def score_rag(cfg: Config, rows: list[dict], predictions: list[str]) -> dict[str, dict]:
    """{"ragas.<metric>": {"values": [float | None per row], "n": rows scored, "reason": str | None}}.

    Only rows with shape "rag" are scored; the others get None. `predictions` align with `rows`.
    """
    if len(rows) != len(predictions):
        raise TunepipeError(f"score_rag got {len(rows)} rows and {len(predictions)} answers: pass one answer per row")
    rag = [i for i, row in enumerate(rows) if row.get("shape") == "rag"]
    os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
    samples = [_sample(rows[i], predictions[i]) for i in rag]
    per_metric = asyncio.run(_score_samples(cfg, samples))
    out = {}
    for name, (values, reasons) in per_metric.items():
        aligned: list[float | None] = [None] * len(rows)
        for i, value in zip(rag, values):
            aligned[i] = value
        out[PREFIX + name] = _summary(aligned, reasons)
    return out


def _sample(row: dict, answer: str) -> dict:
    contexts = row.get("contexts")
    if contexts is None and row.get("context"):
        contexts = [c for c in str(row["context"]).split("\n\n") if c.strip()]
    return {"question": row.get("prompt") or "", "reference": row.get("response") or "", "answer": answer or "",
            "contexts": list(contexts or []), "reference_contexts": row.get("reference_contexts")}


def _summary(values: list[float | None], reasons: list[str]) -> dict:
    n = sum(v is not None for v in values)
    reason = None
    if reasons:
        common, count = Counter(reasons).most_common(1)[0]
        reason = common if n == 0 else f"{len(reasons)} row(s) not scored, e.g. {common}"
    return {"values": values, "n": n, "reason": reason}


async def _score_samples(cfg: Config, samples: list[dict]) -> dict[str, tuple[list, list]]:
    out = {name: await _each(samples, scorer) for name, scorer in _string_scorers().items()}
    out.update({name: await _each(samples, scorer) for name, scorer in _context_scorers().items()})
    judge = cfg.evaluation.judge
    if judge is None:
        return out
    out.update(await _judged(judge, samples))
    return out


Scorer = Callable[[dict], Awaitable[float | None]]


async def _each(samples: list[dict], scorer: Scorer) -> tuple[list, list]:
    values, reasons = [], []
    for sample in samples:
        try:
            value = await scorer(sample)
        except _NotScored as skip:
            value = None
            reasons.append(str(skip))
        values.append(value)
    return values, reasons


class _NotScored(Exception):
    """A row the metric cannot score; the message says why."""


def _finite(value: Any, why: str) -> float:
    value = float(getattr(value, "value", value))
    if math.isnan(value):
        raise _NotScored(why)
    return value


def _string_scorers() -> dict[str, Scorer]:
    from ragas.metrics.collections import BleuScore, NonLLMStringSimilarity, RougeScore

    metrics = dict(zip(STRING_METRICS, (NonLLMStringSimilarity(), RougeScore(rouge_type="rougeL"), BleuScore())))

    def scorer(metric) -> Scorer:
        async def score(s: dict) -> float:
            if not s["reference"].strip():
                raise _NotScored("the row has no reference answer")
            return _finite(await metric.ascore(reference=s["reference"], response=s["answer"]), "ragas returned NaN")
        return score

    return {name: scorer(metric) for name, metric in metrics.items()}


def _context_scorers() -> dict[str, Scorer]:
    import warnings

    from ragas import SingleTurnSample

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from ragas.metrics import NonLLMContextPrecisionWithReference, NonLLMContextRecall

    def scorer(metric) -> Scorer:
        async def score(s: dict) -> float:
            if not s["reference_contexts"]:
                raise _NotScored(NO_REFERENCE_CONTEXTS)
            if not s["contexts"]:
                raise _NotScored("the row has no contexts")
            sample = SingleTurnSample(retrieved_contexts=s["contexts"], reference_contexts=list(s["reference_contexts"]))
            return _finite(await metric.single_turn_ascore(sample), "ragas returned NaN")
        return score

    return {CONTEXT_METRICS[0]: scorer(NonLLMContextPrecisionWithReference()),
            CONTEXT_METRICS[1]: scorer(NonLLMContextRecall())}


async def _judged(judge, samples: list[dict]) -> dict[str, tuple[list, list]]:
    """The LLM-judged metrics on the first judge.max_rows samples; once the endpoint is unreachable or
    times out, the remaining requests are not sent (each would wait the full timeout)."""
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=judge.base_url, api_key=_api_key(judge), timeout=judge.timeout_s, max_retries=0)
    breaker = _Breaker()
    try:
        out = {}
        for name, scorer in _judge_scorers(judge, client).items():
            guarded = breaker.guard(judge, scorer)
            values, reasons = await _each(samples[: judge.max_rows], guarded)
            rest = samples[judge.max_rows:]
            out[name] = (values + [None] * len(rest),
                         reasons + [f"beyond evaluation.judge.max_rows ({judge.max_rows})"] * len(rest))
        return out
    finally:
        await client.close()


def _api_key(judge) -> str:
    if judge.api_key_env is None:
        return "unused"
    key = os.environ.get(judge.api_key_env)
    if not key:
        raise TunepipeError(f"evaluation.judge.api_key_env names {judge.api_key_env}, which is not set: "
                            "export it, or unset api_key_env for a judge without keys")
    return key


def _judge_scorers(judge, client) -> dict[str, Scorer]:
    from ragas.metrics.collections import AnswerRelevancy, FactualCorrectness, Faithfulness

    llm = _judge_llm(judge, client)
    faithful, factual = Faithfulness(llm=llm), FactualCorrectness(llm=llm)

    async def faithfulness(s: dict) -> float:
        if not s["contexts"]:
            raise _NotScored("the row has no contexts")
        result = await faithful.ascore(user_input=s["question"], response=s["answer"], retrieved_contexts=s["contexts"])
        return _finite(result, "the judge found no statement in the answer")

    async def factual_correctness(s: dict) -> float:
        result = await factual.ascore(response=s["answer"], reference=s["reference"])
        return _finite(result, "the judge found no claim to check")

    relevancy = None
    if judge.embeddings_model:
        from ragas.embeddings import OpenAIEmbeddings

        relevancy = AnswerRelevancy(llm=llm, embeddings=OpenAIEmbeddings(client=client, model=judge.embeddings_model))

    async def answer_relevancy(s: dict) -> float:
        if relevancy is None:
            raise _NotScored("needs embeddings: set evaluation.judge.embeddings_model to one the judge endpoint serves")
        return _finite(await relevancy.ascore(user_input=s["question"], response=s["answer"]),
                       "the judge generated no question")

    return {"faithfulness": faithfulness, "factual_correctness": factual_correctness,
            "answer_relevancy": answer_relevancy}


def _judge_llm(judge, client):
    """ragas's own JSON-mode judge (`llm_factory`), or, for json_schema, the same ragas LLM over an instructor
    client that also sends each reply's JSON schema, so a server with structured outputs constrains to it."""
    if judge.response_format == "json_object":
        from ragas.llms import llm_factory

        return llm_factory(judge.model, provider="openai", client=client, max_tokens=judge.max_tokens)
    import instructor
    from ragas.llms.base import InstructorLLM, InstructorModelArgs

    return InstructorLLM(client=instructor.from_openai(client, mode=instructor.Mode.JSON_SCHEMA), model=judge.model,
                         provider="openai", model_args=InstructorModelArgs(max_tokens=judge.max_tokens))


class _Breaker:
    """Turns judge failures into reasons, and stops calling a judge that cannot be reached."""

    def __init__(self):
        self.broken: str | None = None

    def guard(self, judge, scorer: Scorer) -> Scorer:
        async def guarded(sample: dict) -> float | None:
            if self.broken:
                raise _NotScored(self.broken)
            try:
                return await scorer(sample)
            except _NotScored:
                raise
            except Exception as err:
                reason, fatal = judge_failure(err, judge)
                if fatal:
                    self.broken = reason
                raise _NotScored(reason) from None
        return guarded


def judge_failure(err: BaseException, judge) -> tuple[str, bool]:
    """(reason, whether the endpoint itself failed) for an exception raised while judging."""
    import openai

    chain = _chain(err)
    for e in chain:
        if isinstance(e, openai.APITimeoutError):
            return f"judge timed out after {judge.timeout_s:g}s ({judge.base_url})", True
        if isinstance(e, openai.APIConnectionError):
            return f"judge unreachable: {judge.base_url} ({_cause_text(e)})", True
        if isinstance(e, openai.APIStatusError):
            return f"judge answered HTTP {e.status_code}: {_short(_status_message(e))}", e.status_code in (401, 403, 404)
    if any(type(e).__name__ == "IncompleteOutputException" for e in chain):
        return f"judge reply cut at evaluation.judge.max_tokens ({judge.max_tokens}) before its JSON was complete", False
    return _schema_failure(chain), False


def _schema_failure(chain: list[BaseException]) -> str:
    from pydantic import ValidationError

    invalid = [e for e in chain if isinstance(e, ValidationError)]
    if not invalid:
        return f"judging failed: {_short(str(chain[-1]) or type(chain[-1]).__name__)}"
    last = invalid[-1]
    first = last.errors()[0]
    if first["type"] == "json_invalid":
        return f"judge returned invalid JSON: {_short(repr(first.get('input', '')), 80)}"
    where = ".".join(str(x) for x in first.get("loc", ())) or "reply"
    return f"judge's JSON does not fit ragas's {last.title} schema: {where}: {first['msg']}"


def _chain(err: BaseException) -> list[BaseException]:
    seen = [err]
    while True:
        nxt = seen[-1].__cause__ or seen[-1].__context__
        for extra in getattr(seen[-1], "failed_attempts", None) or []:
            exc = getattr(extra, "exception", None)
            if isinstance(exc, BaseException) and exc not in seen:
                seen.append(exc)
        if nxt is None or nxt in seen:
            return seen
        seen.append(nxt)


def _cause_text(err: BaseException) -> str:
    inner = err.__cause__ or err.__context__
    return _short(str(inner) if inner else str(err))


def _status_message(err) -> str:
    body = getattr(err, "body", None)
    error = body.get("error", body) if isinstance(body, dict) else None
    return str(error.get("message", error)) if isinstance(error, dict) else str(err)


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
