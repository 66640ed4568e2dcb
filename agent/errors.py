"""The one exception users can cause: caught at the CLI edge and shown as one line."""


class DalilError(Exception):
    """A problem the user can fix (bad input, bad setting, unreachable endpoint)."""
