"""The admin side of /pulse: one use case per command, over one transaction, each change audited."""
