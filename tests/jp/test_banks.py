import pytest

from madoguchi.jp.banks import (
    BankInfo,
    BranchInfo,
    bank_code_error,
    branch_code_error,
    lookup_bank,
    lookup_branch,
)


def test_lookup_bank():
    assert lookup_bank("0001") == BankInfo("0001", "みずほ", "ミズホ")
    assert lookup_bank("０００１") == BankInfo("0001", "みずほ", "ミズホ")
    assert lookup_bank("9999") is None
    assert lookup_bank("1") is None


def test_lookup_branch():
    assert lookup_branch("0001", "001") == BranchInfo("001", "東京営業部", "トウキヨウ")
    assert lookup_branch("０００１", "００１") == BranchInfo("001", "東京営業部", "トウキヨウ")
    assert lookup_branch("0001", "999") is None
    assert lookup_branch("9999", "001") is None
    assert lookup_branch("0001", "1") is None


@pytest.mark.parametrize("text", ["0001", "０００１", " 0005 ", "9900"])
def test_bank_code_ok(text):
    assert bank_code_error(text) is None


@pytest.mark.parametrize("text", ["", "1", "00001", "abcd", "00-1"])
def test_bank_code_format(text):
    assert bank_code_error(text) == "金融機関コードは4桁の数字で入力してください。"


def test_bank_code_unknown():
    assert bank_code_error("9999") == "金融機関コード「9999」に該当する金融機関が見つかりません。"
    assert (
        bank_code_error("９９９９") == "金融機関コード「9999」に該当する金融機関が見つかりません。"
    )


def test_branch_ok():
    assert branch_code_error("0001", "001") is None
    assert branch_code_error("０００１", "００１") is None


@pytest.mark.parametrize("text", ["", "1", "0001", "abc"])
def test_branch_format(text):
    assert branch_code_error("0001", text) == "支店コードは3桁の数字で入力してください。"


def test_branch_unknown_names_the_bank():
    assert branch_code_error("0001", "999") == "みずほに支店コード「999」の支店が見つかりません。"
    assert (
        branch_code_error("0005", "999") == "三菱ＵＦＪに支店コード「999」の支店が見つかりません。"
    )


@pytest.mark.parametrize("bank", ["9999", "", "12"])
def test_branch_with_bad_bank(bank):
    assert branch_code_error(bank, "001") == (
        "支店コードを確認するには、先に正しい金融機関コードを入力してください。"
    )
