"""Asterisk for the IVR: config rendering, the sandbox server, and an AMI client."""
