"""The typer layer, one module a group of commands: each command parses its options,
calls the library and renders. `adapt_triage.cli` registers them on the app and holds
the one error boundary."""
