"""The one family of errors a user may see: a message that says what, where and what to do."""


class SegmentationError(Exception):
    """Base class: anything the CLI reports with exit 2 and a page shows with ``st.error``.

    The message speaks the user's language (it is shown in the app); ``cli_hint`` adds what to type on
    the command line, which only the CLI prints.
    """

    def __init__(self, message: str = "", *, cli_hint: str = "") -> None:
        super().__init__(message)
        self.cli_hint = cli_hint


class DataError(SegmentationError):
    """The input file or its columns cannot be used (names the file, column or row)."""


class EncoderError(SegmentationError):
    """An encoder is not installed, not reachable, or returned something unusable."""


class ConfigError(SegmentationError):
    """A parameter does not fit the data (e.g. k larger than the number of users)."""


class DamagedWorkspaceError(SegmentationError):
    """The workspace database is damaged. Nothing was changed: ``Workspace.start_fresh(path)`` keeps the
    damaged file as a backup beside it and starts an empty workspace."""

    def __init__(self, message: str, path: object) -> None:
        super().__init__(message)
        self.path = path


def reason(error: BaseException, limit: int = 160) -> str:
    """What a library's exception says, fit for a one-line message: its first line, cut to ``limit`` characters.

    Third-party errors (pyarrow's above all) run over several lines and may quote whole paths or file contents.
    """
    text = str(error).strip()
    first = text.splitlines()[0] if text else type(error).__name__
    return first if len(first) <= limit else first[: limit - 1] + "…"
