"""dhitui: debug shell-less, hardened containers from the terminal.

Only the version lives here; importing the package must stay cheap (the CLI and the TUI
import what they need lazily).
"""

__version__ = "0.1.0"
