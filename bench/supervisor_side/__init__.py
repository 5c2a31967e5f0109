"""Supervisor scenarios: capatazd and supervisord, same config, driven over XML-RPC."""
