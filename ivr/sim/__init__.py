"""The in-process call: flows run without Asterisk, answered by a script or a person."""
