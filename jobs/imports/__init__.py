"""`tandem import tickets|pulses FILE.csv`: history from a helpdesk export or another pulse tool.

The CSV columns are documented in docs/imports.md. Rows are parsed by the pure modules `ticket_rows` and
`pulse_rows` (`csv_rows` holds what they share); `tickets.import_tickets` and `pulses.import_pulses` are
the use cases. Nothing is imported here, so the pure modules load without SQLAlchemy.
"""
