"""Errors a user can meet. Each message says what went wrong and, where possible, how to fix it."""


class StyleFuseError(Exception):
    """Base class: the message is shown to the user as it is."""


class BadInputError(StyleFuseError):
    """A file, style or setting given by the user cannot be used."""


class WeightsError(StyleFuseError):
    """The pretrained weights are missing, altered or unreadable."""


class Cancelled(StyleFuseError):
    """Long work stopped because the user asked it to."""

    def __init__(self, message: str = "cancelled") -> None:
        super().__init__(message)
