"""`response_format` by constrained decoding: at each step only tokens that keep the JSON valid.

Built on lm-format-enforcer (pure Python, no CUDA, works with any HF tokenizer; xgrammar and
outlines pull GPU-oriented dependencies). `{"type": "json_object"}` allows any JSON object,
`{"type": "json_schema", "json_schema": {"schema": ...}}` the given schema. A reply that ends with
finish_reason "stop" always parses; one cut by max_tokens ("length") may not, as with OpenAI.
"""

from __future__ import annotations

import json
import threading
import weakref

from tunepipe.serving.engine import RequestError

_OBJECT_SCHEMA = {"type": "object"}
MAX_WHITESPACE = 2
_tokenizer_data: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_lock = threading.Lock()


class JsonConstraint:
    """The allowed next tokens of one sequence, given the tokens it has generated so far.

    End of sequence is allowed only once the text parses: lm-format-enforcer sometimes offers it
    inside a string, and a reply that stops must be JSON.
    """

    def __init__(self, enforcer, tokenizer):
        self._enforcer, self._tokenizer = enforcer, tokenizer
        self._eos = tokenizer.eos_token_id

    def allowed(self, generated: list[int]) -> list[int]:
        tokens = self._enforcer.get_allowed_tokens(generated).allowed_tokens
        if self._eos in tokens and len(tokens) > 1 and not self._parses(generated):
            tokens = [t for t in tokens if t != self._eos]
        return tokens

    def _parses(self, generated: list[int]) -> bool:
        try:
            json.loads(self._tokenizer.decode(generated, skip_special_tokens=True))
        except ValueError:
            return False
        return True


def constraint_for(tokenizer, response_format: dict | None) -> JsonConstraint | None:
    """None for plain text; otherwise a JsonConstraint (RequestError for an unusable format)."""
    schema = _schema(response_format)
    if schema is None:
        return None
    from lmformatenforcer import JsonSchemaParser, TokenEnforcer

    try:
        parser = JsonSchemaParser(schema)
    except Exception as err:
        raise RequestError(f"response_format: the JSON schema is not usable: {err}", "response_format") from None
    enforcer = TokenEnforcer(_data_for(tokenizer), parser)
    parser.config = _json_safe_config(enforcer)
    return JsonConstraint(enforcer, tokenizer)


def _json_safe_config(enforcer):
    """The tokenizer's characters minus control characters (json.loads rejects them inside strings),
    and at most MAX_WHITESPACE whitespace characters in a row, so a reply cannot pad forever."""
    from lmformatenforcer import CharacterLevelParserConfig

    alphabet = "".join(c for c in enforcer.root_parser.config.alphabet if c.isprintable())
    return CharacterLevelParserConfig(alphabet=alphabet, max_consecutive_whitespaces=MAX_WHITESPACE)


def _schema(response_format: dict | None) -> dict | None:
    kind = (response_format or {}).get("type", "text")
    if kind == "text":
        return None
    if kind == "json_object":
        return _OBJECT_SCHEMA
    if kind == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        if not isinstance(schema, dict):
            raise RequestError("response_format.json_schema.schema must be a JSON schema object", "response_format")
        return schema
    raise RequestError(f"response_format type {kind!r} is not supported: use text, json_object or json_schema",
                       "response_format")


def _data_for(tokenizer):
    """lm-format-enforcer's per-tokenizer tables (a pass over the vocabulary), built once per tokenizer.

    Its own transformers integration imports names that transformers 5 removed, so the table is
    built here the same way (token text, and whether the token starts a word). Tokens with control
    characters are left out (json.loads rejects them inside strings; spaces suffice between values),
    and so are byte fragments of a character, which the enforcer cannot follow.
    """
    from lmformatenforcer import TokenEnforcerTokenizerData

    with _lock:
        if tokenizer not in _tokenizer_data:
            _tokenizer_data[tokenizer] = TokenEnforcerTokenizerData(
                _regular_tokens(tokenizer), lambda ids: tokenizer.decode(ids).rstrip("\ufffd"),
                tokenizer.eos_token_id, False, len(tokenizer),
            )
        return _tokenizer_data[tokenizer]


def _regular_tokens(tokenizer) -> list[tuple[int, str, bool]]:
    zero = tokenizer.encode("0", add_special_tokens=False)[-1]
    special = set(tokenizer.all_special_ids)
    tokens = []
    for token in range(len(tokenizer)):
        if token in special:
            continue
        after_zero = tokenizer.decode([zero, token])[1:]
        if "\ufffd" in after_zero or any(ord(c) < 32 or c == "\x7f" for c in after_zero):
            continue
        tokens.append((token, after_zero, len(after_zero) > len(tokenizer.decode([token]))))
    return tokens
