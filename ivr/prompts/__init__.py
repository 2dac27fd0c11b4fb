"""The prompt catalogue: ids, Indonesian texts, and the audio that speaks them."""
