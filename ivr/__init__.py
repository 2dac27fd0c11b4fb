"""PLN 123 voice IVR: FastAGI call flows for PLN's contact centre."""

__version__ = "0.1.0"
