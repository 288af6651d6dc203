"""Reusable widgets of the dhitui TUI."""
