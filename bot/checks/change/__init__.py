"""Checks on the change as a whole (history, cross-surface consistency, hidden Unicode)."""
