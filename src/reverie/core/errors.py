"""One error type for everything a user can get wrong.

The CLI prints `error: <message>` on one line and exits with code 2; the message names
the problem and the fix. Library callers catch ReverieError (a ValueError).
"""


class ReverieError(ValueError):
    """A problem with the user's input or setup, with the fix in the message."""
