"""異体字 (variant kanji) and comparison keys for names and addresses (pure, no Django).

Japanese text is stored as given; it is *compared* after normalisation. The certificate on a
マイナンバーカード and the resident registry extract often spell the same name differently:
full-width vs half-width, 「髙橋」 vs 「高橋」, 「山﨑」 vs 「山崎」, an ideographic variation
selector after a kanji, a full-width space between 氏 and 名 or none. The keys below fold
those differences so that a candidate can be *offered* to a member of staff, who decides.

- `ITAIJI`: variant → representative character. Traditional (旧字体) and common variant
  forms map to the form used in the 常用漢字表 / 行政事務標準文字 where one exists. A few
  groups of characters that residents and registries routinely confuse in surnames
  (斎/斉/齋/齊) are folded together on purpose: the result only ranks candidates, it never
  identifies anyone by itself.
- `normalize_itaiji(text)`: removes variation selectors (IVS) and maps every variant.
- `name_key(text)`: NFKC, 異体字, no spaces, katakana → hiragana (for kana names).
- `address_key(text)`: NFKC, 異体字, no spaces, 「ヶ・ケ・が」 folded (霞ヶ関 = 霞が関), 「丁目・番地・番・号・の」
  and every dash written as "-", kanji numerals before 丁目 as digits.

Every function is idempotent: `f(f(x)) == f(x)` (tested with hypothesis).
"""

import re
import unicodedata

import jaconv

# variant → representative. Keep values out of the keys (the map is applied once).
_GROUPS: dict[str, str] = {
    "高": "髙",
    "崎": "﨑嵜碕",
    "辺": "邊邉",
    "斎": "齋齊斉",
    "浜": "濱濵",
    "沢": "澤",
    "桜": "櫻",
    "広": "廣",
    "国": "國",
    "実": "實",
    "吉": "𠮷",
    "徳": "德",
    "瀬": "瀨",
    "島": "嶋嶌",
    "富": "冨",
    "真": "眞",
    "恵": "惠",
    "栄": "榮",
    "寿": "壽",
    "関": "關",
    "黒": "黑",
    "浅": "淺",
    "蔵": "藏",
    "静": "靜",
    "増": "增",
    "来": "來",
    "豊": "豐",
    "礼": "禮",
    "万": "萬",
    "団": "團",
    "条": "條",
    "滝": "瀧",
    "曽": "曾",
    "会": "會",
    "館": "舘",
    "峰": "峯",
    "槙": "槇",
    "野": "埜",
    "荘": "莊",
    "児": "兒",
    "県": "縣",
    "弥": "彌",
    "稲": "稻",
    "桧": "檜",
    "竜": "龍",
    "亀": "龜",
    "恒": "恆",
    "剣": "劍劔",
    "凜": "凛",
    "巌": "巖",
    "穂": "穗",
    "髪": "髮",
    "籠": "篭",
    "鴎": "鷗",
    "祢": "禰",
}

ITAIJI: dict[str, str] = {
    variant: standard
    for standard, variants in _GROUPS.items()
    for variant in variants
    if variant != standard
}

# Ideographic variation selectors (IVS, U+E0100–U+E01EF) and standard variation selectors.
_VARIATION_SELECTORS_RE = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")
_SPACES_RE = re.compile(r"[\s\u3000]+")
# Dashes written between address numbers; 「ー」 only counts between digits (センター stays).
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2500\u2501\ufe63"
_DASH_RE = re.compile(f"[{re.escape(_DASHES)}]+")
_LONG_VOWEL_RE = re.compile("(?<=[0-9])[\u30fc\uff70]+(?=[0-9])")
_KANJI_DIGITS = {
    "〇": 0,
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CHOME_RE = re.compile("([〇一二三四五六七八九十]+)丁目")
# 1丁目2番地3号 / 1丁目2番3号 / 2番地の3 → 1-2-3 (only after a digit: 「番場」 is a place name).
_BLOCK_BETWEEN_RE = re.compile("(?<=[0-9])(?:丁目|番地|番|号)?の?(?=[0-9])")
_BLOCK_END_RE = re.compile("(?<=[0-9])(?:番地|番|号)(?![0-9])")
_MULTI_DASH_RE = re.compile("-{2,}")


def normalize_itaiji(text: str) -> str:
    """`text` without variation selectors and with every variant of `ITAIJI` replaced."""
    value = _VARIATION_SELECTORS_RE.sub("", text or "")
    return "".join(ITAIJI.get(char, char) for char in value)


def _basic(text: str) -> str:
    value = unicodedata.normalize("NFKC", text or "")
    value = normalize_itaiji(value)
    value = _SPACES_RE.sub("", value)
    return unicodedata.normalize("NFKC", value)


def _kanji_number(numeral: str) -> int:
    """一〜九十九 (with 十) as an int: 十 = 10, 二十三 = 23."""
    if "十" not in numeral:
        value = 0
        for char in numeral:
            value = value * 10 + _KANJI_DIGITS[char]
        return value
    tens, _, units = numeral.partition("十")
    return (_KANJI_DIGITS.get(tens, 1) if tens else 1) * 10 + (
        _KANJI_DIGITS.get(units, 0) if units else 0
    )


def _fixpoint(step, text: str) -> str:
    """Apply `step` until the value no longer changes (NFKC after removing a space or
    lower-casing can compose characters anew), so that every key is idempotent."""
    value = step(text or "")
    for _ in range(5):
        again = step(value)
        if again == value:
            break
        value = again
    return value


def _name_step(text: str) -> str:
    value = jaconv.kata2hira(_basic(text)).lower()
    return unicodedata.normalize("NFKC", value)


def name_key(text: str) -> str:
    """Comparison key for a name (kanji or kana): width, 異体字, spaces, kana folded."""
    return _fixpoint(_name_step, text)


def _chome(match: re.Match) -> str:
    try:
        return f"{_kanji_number(match.group(1))}丁目"
    except KeyError:
        return match.group(0)


def address_key(text: str) -> str:
    """Comparison key for an address; a shorter address that is a prefix of a longer one
    (no 方書, no building) stays its prefix: 「1丁目2番3号　メゾン101」 → 「1-2-3メゾン101」."""
    return _fixpoint(_address_step, text)


def _address_step(text: str) -> str:
    value = _basic(text)
    value = value.replace("ヶ", "が").replace("ケ", "が").replace("ヵ", "か")
    value = _CHOME_RE.sub(_chome, value)
    value = _LONG_VOWEL_RE.sub("-", value)
    value = _DASH_RE.sub("-", value)
    value = _BLOCK_END_RE.sub("", value)
    value = _BLOCK_BETWEEN_RE.sub(_between, value)
    value = _MULTI_DASH_RE.sub("-", value)
    return unicodedata.normalize("NFKC", value.lower())


def _between(match: re.Match) -> str:
    # An empty match between two digits ("12") must stay empty: it is one number.
    return "-" if match.group(0) else ""


def differs_only_by_variants(a: str, b: str) -> bool:
    """True when `a` and `b` differ as written but have the same `name_key`."""
    return unicodedata.normalize("NFKC", a or "") != unicodedata.normalize(
        "NFKC", b or ""
    ) and name_key(a) == name_key(b)
