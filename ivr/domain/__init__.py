"""PLN facts as plain code. Nothing here knows about AGI or flows."""
