"""`vlagent serve`: the ONNX engine behind an OpenAI-compatible chat-completions API (FastAPI + uvicorn)."""
