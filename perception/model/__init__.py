"""The Qwen2-VL model in torch (definition, export and training only; never on the runtime path)."""
