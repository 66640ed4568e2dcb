"""`dalil eval` commands (placeholder until the eval runner lands)."""

import typer

eval_app = typer.Typer(help="Run eval suites against reference answers.", no_args_is_help=True)
