"""One module per queue: its app (imported by its workers too) and its driver."""
