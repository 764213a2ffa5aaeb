"""The metrics themselves: answer-only loss equals the model's own loss, padding changes nothing."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def model_and_examples(workspace, make_cfg, test_rows, tmp_path_factory):
    from tunepipe.training.data import encode_frame
    from tunepipe.training.models import load_model_and_tokenizer

    model, tokenizer = load_model_and_tokenizer(workspace[1])
    cfg = make_cfg(tmp_path_factory.mktemp("m"))
    examples, _, _ = encode_frame(cfg, tokenizer, test_rows, cfg.model.max_seq_len)
    return cfg, model, tokenizer, examples


def test_answer_loss_matches_the_models_own_loss_on_one_row(model_and_examples):
    import torch

    from tunepipe.evaluation.metrics import answer_token_loss
    from tunepipe.training.data import collate

    _, model, tokenizer, examples = model_and_examples
    batch = collate(examples[:1], tokenizer.pad_token_id)
    with torch.no_grad():
        expected = model(**batch).loss.item()
    assert answer_token_loss(model, examples[:1], tokenizer.pad_token_id) == pytest.approx(expected, rel=1e-5)


def test_answer_loss_does_not_depend_on_batching(model_and_examples):
    from tunepipe.evaluation.metrics import answer_token_loss

    _, model, tokenizer, examples = model_and_examples
    one = answer_token_loss(model, examples, tokenizer.pad_token_id, batch_size=1)
    assert answer_token_loss(model, examples, tokenizer.pad_token_id, batch_size=4) == pytest.approx(one, rel=1e-5)


def test_batched_left_padded_generation_equals_one_by_one(model_and_examples, test_rows):
    from tunepipe.evaluation.scoring import generate_answers

    cfg, model, tokenizer, _ = model_and_examples
    rows = test_rows.head(4)
    batched = generate_answers(cfg, model, tokenizer, rows)
    single = [generate_answers(cfg, model, tokenizer, rows.iloc[[i]])[0] for i in range(len(rows))]
    assert rows["context"].isna().any() and rows["context"].notna().any(), "prompts must differ in length"
    assert batched == single


def test_rouge_l():
    from tunepipe.evaluation.metrics import rouge_l

    assert rouge_l(["the cat sat", "blue sky", ""], ["the cat sat", "red sea", "x"]) == [1.0, 0.0, 0.0]
    assert rouge_l(["the cat sat on the mat"], ["the cat sat"])[0] == pytest.approx(2 * 1 * 0.5 / 1.5)


def test_bleu_identical_and_brevity_penalty():
    import math

    from tunepipe.evaluation.metrics import bleu

    ref = "the cat sat on the mat today"
    assert bleu([ref], [ref]) == [pytest.approx(1.0)]
    # every n-gram of the prediction is in the reference (precisions 1); only the brevity penalty, exp(1 - 7/6)
    assert bleu(["the cat sat on the mat"], [ref])[0] == pytest.approx(math.exp(1 - 7 / 6), rel=1e-4)


def test_chrf_identical_and_disjoint():
    from tunepipe.evaluation.metrics import chrf

    assert chrf(["password reset"], ["password reset"]) == [pytest.approx(1.0)]
    assert chrf(["xyz"], ["abc"]) == [0.0]


def test_exact_match_and_token_f1_use_squad_normalisation():
    from tunepipe.evaluation.metrics import exact_match, normalize_answer, token_f1

    assert normalize_answer("The  Cat, sat!") == "cat sat"
    assert exact_match(["The cat sat.", "a dog"], ["cat sat", "the cat"]) == [1.0, 0.0]
    # "cat sat" vs "cat sat down": 2 common tokens, precision 1, recall 2/3 -> F1 0.8
    assert token_f1(["the cat sat", "blue", "", "the"], ["cat sat down", "red", "", "x"]) == [
        pytest.approx(0.8), 0.0, 1.0, 0.0]


def test_row_losses_pool_to_the_token_weighted_loss_and_perplexity(model_and_examples):
    import math

    from tunepipe.evaluation.metrics import answer_token_loss, perplexity, pooled_loss, row_losses

    _, model, tokenizer, examples = model_and_examples
    rows = row_losses(model, examples, tokenizer.pad_token_id, batch_size=3)
    assert len(rows) == len(examples) and all(c > 0 for _, c in rows)
    loss = pooled_loss([s for s, _ in rows], [c for _, c in rows])
    assert loss == pytest.approx(answer_token_loss(model, examples, tokenizer.pad_token_id), rel=1e-5)
    assert perplexity(loss) == pytest.approx(math.exp(loss))


def test_length_sorted_batches_give_each_row_its_own_loss_in_input_order(model_and_examples):
    from tunepipe.evaluation.metrics import by_length, row_losses, unsort

    _, model, tokenizer, examples = model_and_examples
    assert len({len(e.input_ids) for e in examples}) > 1, "examples must differ in length"
    batched = row_losses(model, examples, tokenizer.pad_token_id, batch_size=3)
    single = [row_losses(model, [e], tokenizer.pad_token_id, batch_size=1)[0] for e in examples]
    assert [c for _, c in batched] == [c for _, c in single]
    assert [s for s, _ in batched] == pytest.approx([s for s, _ in single], rel=1e-4)
    assert by_length([2, 5, 1]) == [1, 0, 2] and unsort(["b", "a", "c"], [1, 0, 2]) == ["a", "b", "c"]
