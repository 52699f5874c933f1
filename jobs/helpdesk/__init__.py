"""Helpdesk webhooks: one module per provider, each a `verify()` and a pure `parse()`, listed in providers.py."""
