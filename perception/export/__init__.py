"""Checkpoint -> on-device runtime package (`vlagent export`).

`package.export_package` writes vision.onnx, decoder.onnx, embed_tokens.npy, the tokenizer,
processor and generation settings and a manifest; `graphs` holds the export wrappers,
`onnx_export` the tracing, `quantize` the int8 / int4 passes. Everything here but `manifest`
needs the `export` extra (torch); `manifest` is standard library only and the runtime reads it.
Nothing is imported here, so importing `perception.export.manifest` never pulls in torch.
"""
