"""The one exception type users see: a short message that says what to do next."""


class TunepipeError(Exception):
    """A failure the user can fix; the CLI prints it without a traceback and exits non-zero."""
