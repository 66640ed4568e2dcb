"""`dalil timeline`, `dalil summarize`, `dalil brief` (registered on the main app)."""

import typer


def register(app: typer.Typer) -> None:
    """Add the sequence commands to ``app`` (none yet)."""
