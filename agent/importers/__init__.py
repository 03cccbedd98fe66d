"""Importers: released agent datasets -> vlagent episode directories."""
