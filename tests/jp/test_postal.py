import pytest

from madoguchi.jp.errors import JpValueError
from madoguchi.jp.postal import (
    format_postal_code,
    lookup_address,
    normalize_postal_code,
    postal_code_error,
)

MESSAGE = "郵便番号は7桁の数字で入力してください（例：100-0001）。"


@pytest.mark.parametrize(
    "text",
    [
        "1000001",
        "100-0001",
        "１００−０００１",
        "１００－０００１",
        "〒1000001",
        "〒100-0001",
        " 100 0001 ",
    ],
)
def test_normalize(text):
    assert normalize_postal_code(text) == "1000001"
    assert postal_code_error(text) is None


@pytest.mark.parametrize("text", ["", "100-001", "10000011", "abc-defg", "100_0001"])
def test_normalize_error(text):
    with pytest.raises(JpValueError) as info:
        normalize_postal_code(text)
    assert info.value.message == MESSAGE
    assert postal_code_error(text) == MESSAGE


def test_format():
    assert format_postal_code("1000001") == "100-0001"
    assert format_postal_code("〒１００－０００１") == "100-0001"
    with pytest.raises(JpValueError):
        format_postal_code("123")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("1000001", "東京都千代田区千代田"),
        ("100-0001", "東京都千代田区千代田"),
        ("0640941", "北海道札幌市中央区旭ケ丘"),
        # 「以下に掲載がない場合」: only the municipality is certain.
        ("0600000", "北海道札幌市中央区"),
        ("1000000", "東京都千代田区"),
        # 「小菅村の次に１〜６６３番地がくる場合」
        ("4090142", "山梨県北都留郡小菅村"),
        # 「井道、奥井道、内井道」: several 町域 under one code.
        ("4411324", "愛知県新城市"),
    ],
)
def test_lookup_address(code, expected):
    assert lookup_address(code) == expected


@pytest.mark.parametrize("code", ["9999999", "0000000", "abc", "", "123"])
def test_lookup_unknown(code):
    assert lookup_address(code) is None


def test_lookup_address_in_other_thread():
    import threading

    results = []
    thread = threading.Thread(target=lambda: results.append(lookup_address("1000001")))
    thread.start()
    thread.join()
    assert results == ["東京都千代田区千代田"]
