"""FastAGI: the server, and a typed async channel over panoramisk's request."""
