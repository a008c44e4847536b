"""Bank and branch codes (全銀協 金融機関コード・支店コード), offline via zengin-code.

Names are shown as zengin-code gives them: banks without the 「銀行」 suffix (「みずほ」),
other institutions with their usual short forms (「〇〇信金」「〇〇農協」).
"""

from functools import cache
from typing import NamedTuple

from madoguchi.jp import errors
from madoguchi.jp._text import digits_only, digits_problem, is_ascii_digits
from madoguchi.jp.errors import JpValueError

BANK_CODE_FORMAT_MESSAGE = "金融機関コードは4桁の数字で入力してください。"
BRANCH_CODE_FORMAT_MESSAGE = "支店コードは3桁の数字で入力してください。"
BRANCH_NEEDS_BANK_MESSAGE = "支店コードを確認するには、先に正しい金融機関コードを入力してください。"


class BankInfo(NamedTuple):
    code: str
    name: str
    kana: str


class BranchInfo(NamedTuple):
    code: str
    name: str
    kana: str


@cache
def _banks() -> dict:
    # Imported lazily: loading the zengin data takes a noticeable fraction of a second.
    from zengin_code import Bank

    return Bank.all


def warm() -> None:
    """Load the codes now (a worker starting up), so that no request pays for it."""
    _banks()


def _normalize(text: str) -> str:
    return digits_only(text or "", allow_separators=False)


def lookup_bank(code4: str) -> BankInfo | None:
    code = _normalize(code4)
    if not is_ascii_digits(code, 4):
        return None
    bank = _banks().get(code)
    if bank is None:
        return None
    return BankInfo(bank.code, bank.name, bank.kana)


def lookup_branch(code4: str, code3: str) -> BranchInfo | None:
    bank_code, branch_code = _normalize(code4), _normalize(code3)
    if not is_ascii_digits(bank_code, 4) or not is_ascii_digits(branch_code, 3):
        return None
    bank = _banks().get(bank_code)
    if bank is None:
        return None
    branch = bank.branches.get(branch_code)
    if branch is None:
        return None
    return BranchInfo(branch.code, branch.name, branch.kana)


def check_bank_code(text: str) -> BankInfo:
    """The bank of a 金融機関コード, or JpValueError (code `length`/`format` for a code that is
    not 4 digits, `bank_unknown` for one that no bank has)."""
    code = _normalize(text)
    if not is_ascii_digits(code, 4):
        raise JpValueError(BANK_CODE_FORMAT_MESSAGE, digits_problem(code))
    bank = lookup_bank(code)
    if bank is None:
        raise JpValueError(
            f"金融機関コード「{code}」に該当する金融機関が見つかりません。", errors.BANK_UNKNOWN
        )
    return bank


def check_branch_code(bank_code: str, text: str) -> BranchInfo:
    """The branch of a 支店コード at a bank, or JpValueError (`length`/`format`,
    `bank_unknown` when the bank itself is not known, `branch_unknown`)."""
    code = _normalize(text)
    if not is_ascii_digits(code, 3):
        raise JpValueError(BRANCH_CODE_FORMAT_MESSAGE, digits_problem(code))
    bank = lookup_bank(bank_code)
    if bank is None:
        raise JpValueError(BRANCH_NEEDS_BANK_MESSAGE, errors.BANK_UNKNOWN)
    branch = lookup_branch(bank.code, code)
    if branch is None:
        raise JpValueError(
            f"{bank.name}に支店コード「{code}」の支店が見つかりません。", errors.BRANCH_UNKNOWN
        )
    return branch


def bank_code_error(text: str) -> str | None:
    try:
        check_bank_code(text)
    except JpValueError as exc:
        return exc.message
    return None


def branch_code_error(bank_code: str, text: str) -> str | None:
    try:
        check_branch_code(bank_code, text)
    except JpValueError as exc:
        return exc.message
    return None
