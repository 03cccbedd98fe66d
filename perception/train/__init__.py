"""Training the embedded demo model on the simulator (torch; never on the runtime path).

Modules: `screens` (random sim screens and their clickable targets, cached pools), `samples`
(prompt/answer text in the fixed prompt contract, token ids with answer-only labels), `batch`
(padded batches and per-visual-token targets), `heads` (the training forward with the dense
training-only heads), `loop` (AdamW, schedule, resumable state, curve), `evaluate` (held-out
figures), `final` (export, score the package, record), `ship` (install into
perception/demo_model), `ladder` / `run_ladder` (sanity rungs), `curves` (tables for the docs),
`recipe` (sizes and settings). `evaluate`, `screens` and `samples` import no torch.
"""
