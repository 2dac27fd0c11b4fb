"""Test doubles that speak Asterisk's protocols over real sockets."""
