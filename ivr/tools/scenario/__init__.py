"""Scenarios: answers by ``ask:`` tag and the expected outcome; run in the simulator or
as a real call through Asterisk."""
