"""vlagent's perception stage: frame sources, the Qwen2-VL processor, model, export, engine and box grammar."""
