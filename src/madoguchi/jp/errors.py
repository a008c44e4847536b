"""The one exception type raised by `madoguchi.jp` for input a resident can correct."""

# The rule a value broke, as a stable code. The form engine records it for the KPI
# 「入力エラーが多い項目」, so one fault has one code whichever field type finds it:
FORMAT = "format"  # characters that do not belong (letters in a number, an unknown layout)
LENGTH = "length"  # only digits, but too few or too many of them
CHECK_DIGIT = "check_digit"  # the right number of digits whose check digit does not match
DATE_IMPOSSIBLE = "date_impossible"  # no such day: 2月30日, 平成31年5月1日, 13月
DATE_FORMAT = "date_format"  # a date written in a way that cannot be read
DATE_RANGE = "date_range"  # a real day outside what is accepted (before 明治, after a limit)
RANGE = "range"  # a number outside what is accepted (era year 0, year 10000)
ERA = "era"  # an era name that does not exist
REQUIRED = "required"  # nothing given
POSTAL_UNKNOWN = "postal_unknown"  # a well-formed postal code that Japan Post does not use
BANK_UNKNOWN = "bank_unknown"  # a well-formed 金融機関コード no bank has
BRANCH_UNKNOWN = "branch_unknown"  # a well-formed 支店コード the bank does not have
CHARACTERS = "characters"  # characters that a name (or the field) cannot hold

CODES = frozenset(
    {
        FORMAT,
        LENGTH,
        CHECK_DIGIT,
        DATE_IMPOSSIBLE,
        DATE_FORMAT,
        DATE_RANGE,
        RANGE,
        ERA,
        REQUIRED,
        POSTAL_UNKNOWN,
        BANK_UNKNOWN,
        BRANCH_UNKNOWN,
        CHARACTERS,
    }
)


class JpValueError(ValueError):
    """Invalid input; `message` is one complete Japanese sentence shown to the resident, and
    `code` the rule that was broken (one of `CODES`).

    The message never contains the field label: the form engine adds it in the error summary.
    """

    def __init__(self, message: str, code: str = FORMAT) -> None:
        if code not in CODES:
            raise ValueError(f"unknown rule code {code!r}")
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return self.message
