"""Ports to PLN's systems (CRM, customer data, APKT) and their embedded SQLite defaults."""
