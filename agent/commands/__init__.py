"""One module per CLI subcommand; agent.cli registers them explicitly. Heavy imports stay inside the command bodies."""
