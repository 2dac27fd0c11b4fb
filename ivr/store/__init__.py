"""Persistence: the embedded SQLite file that keeps every call's record."""
