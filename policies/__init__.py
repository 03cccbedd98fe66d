"""Policies: prompting a model or reading a UI tree, and parsing the answer into Actions."""
