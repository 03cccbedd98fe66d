"""Checkpoint -> on-device runtime package (`vlagent export`).

`package.export_package` writes vision.onnx, decoder.onnx, embed_tokens.npy, the tokenizer,
processor and generation settings and a manifest; `graphs` holds the export wrappers,
`onnx_export` the tracing, `quantize` the int8 / int4 passes, `prefill` an int4 package's int8
prefill graph. Everything here but `manifest` and `prefill` needs the `export` extra (torch);
`manifest` is standard library only and `prefill` numpy (it imports onnx only to write the
graph), and the runtime reads both.
Nothing is imported here, so importing `perception.export.manifest` never pulls in torch.
"""
