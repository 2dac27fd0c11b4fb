"""Speech: Indonesian number words, grammars and recognition."""
