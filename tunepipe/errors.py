"""The one exception type users see: a short message that says what to do next."""


class TunepipeError(Exception):
    """A failure the user can fix; the CLI prints it without a traceback and exits non-zero."""


class Interrupted(TunepipeError):
    """The user stopped a run (Ctrl-C); the CLI exits 130, as a shell does for SIGINT."""

    exit_code = 130
