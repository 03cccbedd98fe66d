"""vlagent's agent stage: the Action schema, the perceive-reason-act loop, config, recorder and CLI."""

__version__ = "0.1.0"
