"""tunepipe: raw domain data to a fine-tuned, evaluated, reviewed and served LLM."""

__version__ = "0.1.0"
