"""The one exception type raised by `madoguchi.jp` for input a resident can correct."""


class JpValueError(ValueError):
    """Invalid input; `message` is one complete Japanese sentence shown to the resident.

    The message never contains the field label: the form engine adds it in the error summary.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message
