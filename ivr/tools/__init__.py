"""Tooling that users do not need at run time: benches, the fake Asterisk, the
sandbox Asterisk and the scenario runners. Nothing in the runtime packages imports it.
"""
