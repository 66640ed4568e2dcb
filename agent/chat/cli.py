"""`dalil chat` (registered on the main app)."""

import typer


def register(app: typer.Typer) -> None:
    """Add the chat command to ``app`` (none yet)."""
