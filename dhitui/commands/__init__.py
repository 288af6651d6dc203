"""The `dhitui` subcommands, one module each; heavy imports stay inside `run()`."""
