"""`python -m agent` runs the `dalil` command."""

from agent.cli import main

if __name__ == "__main__":  # not when a spawned ingest worker re-imports the main module
    main()
