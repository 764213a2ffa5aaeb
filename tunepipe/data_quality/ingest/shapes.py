"""Which record shape a row is (NeMo, prompt/completion, Alpaca, chat, RAG), its content in the internal
schema, or the reason it is quarantined.
"""

from __future__ import annotations

from functools import reduce

from pyspark.sql import functions as F

from tunepipe.data_quality.ingest.readers import (
    MAX_LINE_CHARS,
    RAW_CHARS,
    failure_struct,
    strip_bom,
)
from tunepipe.errors import TunepipeError

BLANK = "_blank"


CHAT_ROLES = r"^(system,)?(user,assistant,)*user,assistant$"


RECORD_COLUMNS = ["record_id", "source", "source_line", "shape", "prompt", "context", "response"]


QUARANTINE_COLUMNS = ["source", "source_line", "reason", "detail", "raw"]


MESSAGE_FIELDS = ("role", "content")


RECORD_FIELDS = ("instruction", "input", "output", "prompt", "completion", "question", "answer",
                 "contexts", "messages")


FIELDS = RECORD_FIELDS + MESSAGE_FIELDS


# internal kind -> (shape, prompt field, response field), in the order kinds are recognised
KINDS = {
    "chat": ("chat", "messages", "messages"),
    "rag": ("rag", "question", "answer"),
    "alpaca": ("prompt_completion", "instruction", "output"),
    "nemo": ("prompt_completion", "input", "output"),
    "pc": ("prompt_completion", "prompt", "completion"),
}


KIND_KEYS = {"chat": ("messages",), "rag": ("question", "answer", "contexts"),
             "alpaca": ("instruction",), "nemo": ("input", "output"), "pc": ("prompt", "completion")}


def field_names(field_map: dict[str, str]) -> dict[str, str]:
    """Known field -> the name the source uses; a clear error for a field_map that cannot work."""
    unknown = sorted(set(field_map) - set(FIELDS))
    if unknown:
        raise TunepipeError(f"data.field_map has unknown field(s) {', '.join(unknown)}; the known "
                            f"fields are {', '.join(FIELDS)} (map known field -> your column name)")
    bad = sorted(v for v in field_map.values() if not v or "'" in v)
    if bad:
        raise TunepipeError(f"data.field_map names {bad} cannot be used: names must be non-empty "
                            "and contain no single quote")
    names = {f: field_map.get(f, f) for f in FIELDS}
    for group in (RECORD_FIELDS, MESSAGE_FIELDS):
        used: dict[str, str] = {}
        for known in group:
            if names[known] in used:
                raise TunepipeError(
                    f"data.field_map makes '{used[names[known]]}' and '{known}' both read "
                    f"'{names[known]}'; map one of them to another name")
            used[names[known]] = known
    return names


def _path(name: str) -> str:
    return f"$['{name}']"


def _type(name: str, v="v"):
    return F.schema_of_variant(F.variant_get(v, _path(name), "variant"))


def _text(name: str, v="v"):
    return F.try_variant_get(v, _path(name), "string")


def _pick(kind_col, choices: dict):
    """CASE kind WHEN k1 THEN v1 WHEN k2 THEN v2 ... END"""
    (first, value), *rest = choices.items()
    expr = F.when(kind_col == first, value)
    for key, value in rest:
        expr = expr.when(kind_col == key, value)
    return expr


def classify(lines, names: dict[str, str] | None = None):
    """Add reason/detail (null for valid rows) and the internal record columns."""
    names = names or {f: f for f in FIELDS}
    parsed = F.when(F.length("value") <= MAX_LINE_CHARS, F.try_parse_json(strip_bom("value")))
    df = lines.withColumn("v", parsed).select(
        "*", F.schema_of_variant("v").alias("_top"),
        *[_type(names[f]).alias(f"_t_{f}") for f in RECORD_FIELDS],
    )
    present = lambda keys: reduce(lambda a, b: a | b, [F.col(f"_t_{k}").isNotNull() for k in keys])  # noqa: E731
    kind = reduce(lambda expr, k: expr.when(present(KIND_KEYS[k]), k), list(KINDS)[1:],
                  F.when(present(KIND_KEYS["chat"]), "chat"))
    df = _with_content(df.withColumn("_kind", kind), names)
    df = df.withColumn("_failure", F.coalesce("_preset", _validation(names)))
    shape = _pick(F.col("_kind"), {k: F.lit(v[0]) for k, v in KINDS.items()})
    location = F.concat_ws(":", "source", F.col("source_line").cast("string"))
    record_id = F.substring(F.sha2(location, 256), 1, 16)
    return df.select(
        record_id.alias("record_id"), "source", "source_line", shape.alias("shape"),
        "prompt", "context", "response", "_failure.reason", "_failure.detail",
        F.make_valid_utf8(F.substring("value", 1, RAW_CHARS)).alias("raw"),
        F.col("_multi_turn").alias("multi_turn"),
    )


def _with_content(df, names: dict[str, str]):
    """prompt / context / response for each kind, plus the inputs of the chat and RAG checks."""
    kind = F.col("_kind")
    msgs = F.try_variant_get("v", _path(names["messages"]), "array<variant>")
    role, content = (lambda m: _text(names["role"], m)), (lambda m: _text(names["content"], m))
    is_text = lambda t: F.coalesce(t, F.lit("")) == "STRING"  # noqa: E731
    bad_msg = F.exists(msgs, lambda m: ~is_text(_type(names["role"], m)) | ~is_text(_type(names["content"], m)))
    roles = F.transform(msgs, lambda m: F.lower(role(m)))
    contexts = F.when(F.col("_t_contexts") == "STRING", F.array(_text(names["contexts"]))).otherwise(
        F.try_variant_get("v", _path(names["contexts"]), "array<string>"))
    passages = F.filter(contexts, lambda c: F.trim(c) != "")
    extra = _text(names["input"])
    alpaca = F.when(F.trim(F.coalesce(extra, F.lit(""))) != "",
                    F.concat(_text(names["instruction"]), F.lit("\n\n"), extra))
    prompt_text = _pick(kind, {k: _text(names[v[1]]) for k, v in KINDS.items() if k != "chat"}
                        | {"chat": content(F.try_element_at(msgs, F.lit(-2)))})
    response = _pick(kind, {k: _text(names[v[2]]) for k, v in KINDS.items() if k != "chat"}
                     | {"chat": content(F.try_element_at(msgs, F.lit(-1)))})
    return df.select(
        "*", prompt_text.alias("_prompt_text"),
        F.coalesce(F.when(kind == "alpaca", alpaca), prompt_text).alias("prompt"),
        response.alias("response"),
        F.when(kind == "rag", F.when(F.size(passages) > 0, F.array_join(passages, "\n\n"))).alias("context"),
        F.when(kind == "rag", F.coalesce(F.size(passages), F.lit(0))).alias("_n_passages"),
        bad_msg.alias("_bad_msg"), F.array_join(roles, ",").alias("_roles"),
        (F.size(roles) > F.when(F.try_element_at(roles, F.lit(1)) == "system", 3).otherwise(2))
        .alias("_multi_turn"),
    )


def _validation(names: dict[str, str]):
    """The first failing check names the reason; the order is from coarse to fine."""
    kind = F.col("_kind")
    t = {f: F.col(f"_t_{f}") for f in RECORD_FIELDS}
    p_name = _pick(kind, {k: F.lit(names[v[1]]) for k, v in KINDS.items()})
    r_name = _pick(kind, {k: F.lit(names[v[2]]) for k, v in KINDS.items()})
    p_type = _pick(kind, {k: t[v[1]] for k, v in KINDS.items()})
    r_type = _pick(kind, {k: t[v[2]] for k, v in KINDS.items()})
    p_label = F.when(kind == "chat", "the last user message").otherwise(F.format_string("'%s'", p_name))
    r_label = F.when(kind == "chat", "the last assistant message").otherwise(F.format_string("'%s'", r_name))
    missing = lambda c: c.isNull() | (c == "VOID")  # noqa: E731
    not_text = lambda c: ~missing(c) & (c != "STRING")  # noqa: E731
    ctx_ok = t["contexts"].isin("STRING", "ARRAY<STRING>", "ARRAY<VOID>")
    wrong = lambda name, typ, expected: F.format_string(  # noqa: E731
        f"field '%s' is %s, expected {expected}", F.lit(name) if isinstance(name, str) else name, typ)
    shapes = ", ".join("/".join(names[k] for k in keys) for keys in KIND_KEYS.values())
    checks = [
        (F.trim(F.col("value")) == "", BLANK, F.lit("blank line")),
        (F.length("value") > MAX_LINE_CHARS, "too_long",
         F.format_string("record has %d characters (limit %d)", F.length("value"), F.lit(MAX_LINE_CHARS))),
        (~F.is_valid_utf8("value"), "invalid_utf8", F.lit("line is not valid UTF-8")),
        (F.col("v").isNull(), "malformed_json",
         F.lit("not a valid JSON object (truncated, garbage or duplicate keys)")),
        (~F.col("_top").startswith("OBJECT"), "wrong_type",
         F.format_string("record is %s, expected a JSON object", F.col("_top"))),
        (kind.isNull(), "unknown_shape",
         F.format_string(f"keys %s match no shape ({shapes})", F.col("_top"))),
        (missing(p_type), "missing_field", F.format_string("missing field '%s'", p_name)),
        (missing(r_type), "missing_field", F.format_string("missing field '%s'", r_name)),
        ((kind == "rag") & missing(t["contexts"]), "missing_field",
         F.lit(f"missing field '{names['contexts']}'")),
        ((kind == "chat") & ~t["messages"].startswith("ARRAY"), "wrong_type",
         wrong(names["messages"], t["messages"], "a list of messages")),
        ((kind == "chat") & F.col("_bad_msg"), "wrong_type",
         F.lit(f"every message needs a string '{names['role']}' and a string '{names['content']}'")),
        ((kind != "chat") & (p_type != "STRING"), "wrong_type", wrong(p_name, p_type, "a string")),
        ((kind != "chat") & (r_type != "STRING"), "wrong_type", wrong(r_name, r_type, "a string")),
        ((kind == "alpaca") & not_text(t["input"]), "wrong_type", wrong(names["input"], t["input"], "a string")),
        ((kind == "rag") & ~ctx_ok, "wrong_type",
         wrong(names["contexts"], t["contexts"], "a string or a list of strings")),
        ((kind == "chat") & ~F.col("_roles").rlike(CHAT_ROLES), "bad_chat_roles",
         F.format_string("roles %s: expected optional system, then user/assistant turns ending "
                         "with assistant", F.col("_roles"))),
        (F.trim(F.col("_prompt_text")) == "", "empty_text", F.format_string("%s is empty", p_label)),
        (F.trim(F.col("response")) == "", "empty_text", F.format_string("%s is empty", r_label)),
        ((kind == "rag") & (F.col("_n_passages") == 0), "empty_text",
         F.lit(f"'{names['contexts']}' has no non-empty passage")),
    ]
    failure = None
    for condition, code, detail in checks:
        outcome = failure_struct(code, detail)
        failure = F.when(condition, outcome) if failure is None else failure.when(condition, outcome)
    return failure
