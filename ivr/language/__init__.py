"""Indonesian as the IVR speaks and hears it: number words and input grammars.

No telephony here: the engine, the steps and the speech adapter all build on it.
"""
