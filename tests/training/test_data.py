"""Chat formatting and answer-only labels: what the model is trained and scored on."""

from __future__ import annotations

import pytest

from tunepipe.training.data import IGNORE, collate, encode_record, prompt_messages


@pytest.fixture(scope="module")
def tokenizer(tiny_base):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_base)


def _answer(tokenizer, example) -> str:
    return tokenizer.decode([t for t, l in zip(example.input_ids, example.labels) if l != IGNORE])


def test_labels_cover_the_answer_and_end_of_turn_only(tmp_path, make_cfg, tokenizer):
    cfg = make_cfg(tmp_path)
    example = encode_record(cfg, tokenizer, {"prompt": "What colour is item 1?", "response": "green"}, 64)
    assert _answer(tokenizer, example) == "green<|im_end|>\n"
    assert tokenizer.decode(example.input_ids).endswith("<|im_start|>assistant\ngreen<|im_end|>\n")
    assert not example.truncated


def test_context_and_system_prompt_are_in_the_prompt(tmp_path, make_cfg):
    cfg = make_cfg(tmp_path, model={"system_prompt": "Answer briefly."})
    messages = prompt_messages(cfg, "How long?", "Warranty: two years.")
    assert messages == [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "Context:\nWarranty: two years.\n\nQuestion: How long?"},
    ]
    assert prompt_messages(make_cfg(tmp_path), "How long?", None) == [{"role": "user", "content": "How long?"}]


def test_truncation_keeps_the_prompt_and_drops_rows_without_answer_room(tmp_path, make_cfg, tokenizer):
    cfg = make_cfg(tmp_path)
    record = {"prompt": "What colour is item 1?", "response": "green " * 40}
    full = encode_record(cfg, tokenizer, record, 512)
    cut = encode_record(cfg, tokenizer, record, 32)
    assert cut.truncated and len(cut.input_ids) == 32 and cut.input_ids == full.input_ids[:32]
    assert any(label != IGNORE for label in cut.labels)
    assert encode_record(cfg, tokenizer, {"prompt": "word " * 100, "response": "x"}, 32) is None


def test_collate_pads_right_and_ignores_padding(tmp_path, make_cfg, tokenizer):
    cfg = make_cfg(tmp_path)
    a = encode_record(cfg, tokenizer, {"prompt": "Hi?", "response": "red"}, 64)
    b = encode_record(cfg, tokenizer, {"prompt": "What colour is item 3?", "response": "yellow"}, 64)
    batch = collate([a, b], tokenizer.pad_token_id)
    n = len(a.input_ids)
    assert batch["input_ids"].shape == (2, len(b.input_ids))
    assert batch["attention_mask"][0].sum() == n and (batch["labels"][0, n:] == IGNORE).all()
    assert (batch["input_ids"][0, n:] == tokenizer.pad_token_id).all()


def test_loss_on_every_token_labels_the_prompt_too(tmp_path, make_cfg, tokenizer):
    cfg = make_cfg(tmp_path)
    record = {"prompt": "What colour is item 1?", "response": "green"}
    answer_only, every = encode_record(cfg, tokenizer, record, 64), encode_record(cfg, tokenizer, record, 64, False)
    assert every.input_ids == answer_only.input_ids and every.labels == every.input_ids
    assert _answer(tokenizer, answer_only) == "green<|im_end|>\n"


def test_a_flattened_batch_is_one_row_with_positions_restarting_per_example(tmp_path, make_cfg, tokenizer):
    from tunepipe.training.data import flatten

    cfg = make_cfg(tmp_path)
    a = encode_record(cfg, tokenizer, {"prompt": "Hi?", "response": "red"}, 64)
    b = encode_record(cfg, tokenizer, {"prompt": "What colour is item 3?", "response": "yellow"}, 64)
    batch = flatten([a, b])
    n, m = len(a.input_ids), len(b.input_ids)
    assert batch["input_ids"][0].tolist() == a.input_ids + b.input_ids and "attention_mask" not in batch
    assert batch["position_ids"][0].tolist() == list(range(n)) + list(range(m))
    assert batch["labels"][0, n] == IGNORE


def test_packing_fills_rows_up_to_the_sequence_length(tmp_path, make_cfg, tokenizer):
    from tunepipe.training.data import Batcher, label_tokens, real_tokens

    cfg = make_cfg(tmp_path)
    rows = [{"prompt": f"What colour is item {i}?", "response": "red " * (i % 3 + 1)} for i in range(6)]
    examples = [encode_record(cfg, tokenizer, r, 64) for r in rows]
    total = sum(len(e.input_ids) for e in examples)
    batch = Batcher(tokenizer.pad_token_id, packing=True, max_len=64)(examples)
    rows, width = batch["input_ids"].shape
    assert rows == -(-total // 64) and width <= 64
    assert real_tokens(batch) == total and int((batch["position_ids"] == 0).sum()) == len(examples)
    assert int((batch["labels"] != IGNORE).sum()) == label_tokens(examples)
