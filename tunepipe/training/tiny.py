"""A tiny, real Llama model with a locally trained BPE tokenizer, for tests and quick demos.

It has the same shape as a real instruct checkpoint (chat template, bos/eos/pad tokens, a
`save_pretrained` directory), so every stage that accepts SmolLM2 accepts it too, in < 2 s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

BOS, EOS, PAD = "<|im_start|>", "<|im_end|>", "<|pad|>"
UNK = "<|unk|>"

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

_CORPUS = [
    "How do I reset my password? Open the settings page and choose reset password.",
    "What are the opening hours? The office is open from nine to five on weekdays.",
    "Where can I find my invoice? Invoices are listed under billing in your account.",
    "Can I change my delivery address? Yes, edit the address before the order ships.",
    "How long does shipping take? Standard shipping takes three to five business days.",
    "The quick brown fox jumps over the lazy dog while the cat sleeps in the sun.",
    "Please contact support if the problem persists after you restart the application.",
    "Our return policy allows returns within thirty days of purchase with a receipt.",
    "The system prompt tells the assistant to answer briefly and politely.",
    "Context: the warranty covers parts and labour for two years. Question: how long?",
    "user assistant system question answer context model data training evaluation",
    "Numbers 0 1 2 3 4 5 6 7 8 9 10 100 1000 and punctuation . , ; : ! ? ' \" ( ) - /",
]


def _train_tokenizer(texts: Iterable[str], vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE(unk_token=UNK))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[PAD, UNK, BOS, EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(list(texts), trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token=BOS, eos_token=EOS, pad_token=PAD, unk_token=UNK
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def build_tiny_model(
    out_dir: str | Path,
    texts: Iterable[str] | None = None,
    hidden_size: int = 64,
    num_layers: int = 2,
    vocab_size: int = 512,
    seed: int = 0,
) -> str:
    """Write a tiny LlamaForCausalLM + tokenizer to `out_dir` and return the directory."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    out_dir = Path(out_dir)
    corpus = list(texts) if texts is not None else []
    tokenizer = _train_tokenizer(corpus + _CORPUS, vocab_size)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=num_layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=1024,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
        initializer_range=0.1,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return str(out_dir)
