"""The flow engine: model, loader, validator, interpreter and per-call state."""
