"""The `brainnet` command line: one module per command group (typer)."""
