"""Modal screens of the dhitui TUI."""
