"""What a person's name (氏名, かな) may hold: letters of any script, kanji inside or outside
JIS X 0208 (𠮷 U+20BB7, 髙, 﨑, 𩸽) with their variation selectors, kana and the few marks names
are written with. Emoji, pictographs and other symbols are refused with a message that names
them: they cannot be printed on a receipt, registered in a core system or read back at the
counter.

The rule is a list of what is allowed (Unicode general categories plus a short list of
punctuation), not of what is refused, so an emoji added in a later Unicode version is refused
too (it is unassigned to this Python's Unicode tables).
"""

import unicodedata

from madoguchi.jp import errors
from madoguchi.jp.errors import JpValueError

# Letters (kanji, kana, Latin, Hangul ...), the iteration and length marks (々 ゝ ー are Lm),
# digits (a name rarely has one, but they are no symbol that breaks printing) and spaces.
_ALLOWED_CATEGORIES = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Nd", "Nl", "Zs", "Mn", "Mc"})
# Punctuation and symbols that names are written with: the middle dot and the equals sign
# between the parts of a foreign name (ジョン・スミス, ジャン＝ポール, ジャン゠ポール), hyphens and apostrophes
# (Smith-Jones, O'Brien), the full stop of an initial, and the spacing (semi-)voiced marks.
_ALLOWED_MARKS = frozenset(
    "・･=＝゠-－‐‑'’.．,，゛゜ﾞﾟ"  # noqa: RUF001 - these look-alikes are exactly the point
)
_VS16 = "\ufe0f"  # emoji presentation selector: never part of a name
_ZWJ = "\u200d"
# Ideographs in the Supplementary and Tertiary Ideographic Planes (extensions B to I): allowed
# even where this Python's Unicode tables do not know them yet.
_IDEOGRAPH_PLANES = range(0x20000, 0x40000)


def _allowed(char: str) -> bool:
    if char in _ALLOWED_MARKS:
        return True
    if char == _VS16:
        return False
    code = ord(char)
    if code in _IDEOGRAPH_PLANES or 0xE0100 <= code <= 0xE01EF:  # kanji and their IVS
        return True
    return unicodedata.category(char) in _ALLOWED_CATEGORIES


def _joins(char: str) -> bool:
    """Characters that belong to the one before them in what a person sees as one character:
    combining marks, variation selectors, emoji modifiers (skin tones), tag characters."""
    code = ord(char)
    return (
        unicodedata.category(char) in ("Mn", "Mc", "Me")
        or 0xFE00 <= code <= 0xFE0F
        or 0x1F3FB <= code <= 0x1F3FF
        or 0xE0020 <= code <= 0xE007F
        or 0xE0100 <= code <= 0xE01EF
    )


def clusters(text: str) -> list[str]:
    """`text` cut into what a reader sees as one character (close enough to Unicode's extended
    grapheme clusters for the messages: 👨‍👩‍👧, 👍🏽, 1️⃣ and 🇯🇵 stay whole)."""
    out: list[str] = []
    for char in text:
        if out and (
            _joins(char)
            or out[-1].endswith(_ZWJ)
            or (char == _ZWJ)
            or (_is_regional(char) and len(out[-1]) == 1 and _is_regional(out[-1]))
        ):
            out[-1] += char
        else:
            out.append(char)
    return out


def _is_regional(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def shown(cluster: str) -> str:
    if all(unicodedata.category(c) in ("Cc", "Cf", "Mn", "Me", "Zl", "Zp") for c in cluster):
        return "見えない制御文字"
    return cluster


def refused_characters(text: str) -> list[str]:
    """The characters of `text` a name cannot hold, each once, in order of appearance (a
    cluster such as 👨‍👩‍👧 is one entry; invisible control characters are 「見えない制御文字」)."""
    found: list[str] = []
    for cluster in clusters(text or ""):
        if all(_allowed(c) for c in cluster):
            continue
        seen = shown(cluster)
        if seen not in found:
            found.append(seen)
    return found


def name_characters_message(text: str) -> str | None:
    """「使えない文字が含まれています（「😀」「★」は使えません）。」 for a name holding
    characters that a name cannot hold, None when it is fine. The form engine puts the field's
    label in front (「氏名の姓に使えない文字が…」)."""
    found = refused_characters(text)
    if not found:
        return None
    listed = "".join(f"「{c}」" for c in found[:5]) + ("など" if len(found) > 5 else "")
    return f"使えない文字が含まれています（{listed}は使えません）。"


def check_name(text: str) -> str:
    """`text` unchanged when a name may hold it, else JpValueError (code `characters`)."""
    message = name_characters_message(text)
    if message:
        raise JpValueError(message, errors.CHARACTERS)
    return text
