"""Frame sources: each turns a screen or camera into a Frame."""
