from madoguchi.jp.errors import JpValueError


def test_jp_value_error():
    exc = JpValueError("郵便番号は7桁の数字で入力してください（例：100-0001）。")
    assert isinstance(exc, ValueError)
    assert exc.message == "郵便番号は7桁の数字で入力してください（例：100-0001）。"
    assert str(exc) == exc.message


def test_no_django_imports():
    import ast
    import pathlib

    import madoguchi.jp

    for path in pathlib.Path(madoguchi.jp.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n.split(".")[0] == "django" for n in names), path.name


def test_unknown_rule_code_is_a_programming_error():
    import pytest

    with pytest.raises(ValueError, match="unknown rule code"):
        JpValueError("…", "typo")


def _code(call, *args):
    try:
        call(*args)
    except JpValueError as exc:
        return exc.code
    return None


def test_each_jp_check_names_the_rule_it_enforces():
    """One fault, one code: what the KPI 「入力エラーが多い項目」 counts."""
    from madoguchi.jp import banks, check_digits, phone, postal, wareki

    mn = "12345678901" + str(check_digits.individual_number_check_digit("12345678901"))
    wrong = mn[:11] + str((int(mn[11]) + 1) % 10)
    assert _code(check_digits.normalize_individual_number, "1234") == "length"
    assert _code(check_digits.normalize_individual_number, "1234 5678 901x") == "format"
    assert _code(check_digits.normalize_individual_number, wrong) == "check_digit"
    assert _code(check_digits.normalize_corporate_number, "700001205000") == "length"
    assert _code(check_digits.normalize_corporate_number, "8000012050002") == "check_digit"
    assert _code(wareki.from_wareki, "平成", 31, 5, 1) == "date_impossible"
    assert _code(wareki.from_wareki, "令和", 6, 2, 30) == "date_impossible"
    assert _code(wareki.from_wareki, "令和", 0, 1, 1) == "range"
    assert _code(wareki.from_wareki, "明治", 1, 1, 1) == "date_range"
    assert _code(wareki.from_wareki, "天平", 1, 1, 1) == "era"
    assert _code(wareki.from_seireki, 2023, 2, 29) == "date_impossible"
    assert _code(wareki.from_seireki, 1850, 1, 1) == "date_range"
    assert _code(wareki.parse_date_text, "平成31年5月1日") == "date_impossible"
    assert _code(wareki.parse_date_text, "そのうち") == "date_format"
    assert _code(wareki.parse_date_text, "") == "required"
    assert _code(postal.check_postal_code, "100-001") == "length"
    assert _code(postal.check_postal_code, "999-0001") == "postal_unknown"
    assert _code(postal.check_postal_code, "100-0001") is None
    assert _code(phone.normalize_phone, "03-1234-567") == "length"
    assert _code(phone.normalize_phone, "03-ABCD-5678") == "format"
    assert _code(banks.check_bank_code, "12") == "length"
    assert _code(banks.check_bank_code, "9999") == "bank_unknown"
    assert _code(banks.check_branch_code, "0001", "999") == "branch_unknown"
