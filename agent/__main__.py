"""`python -m agent` runs the `dalil` command."""

from agent.cli import main

main()
