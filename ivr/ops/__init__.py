"""What operations see: call statistics read from the call store."""
