"""Text for CP932 (Shift_JIS) files: what cannot be encoded is reported, never silently lost.

1. Characters that are *the same JIS character* but have a different Unicode code point in
   CP932 than in the JIS X 0208 mapping (〜 WAVE DASH → ～, − MINUS SIGN → －, ‖ → ∥, — → ―,
   ¢ £ ¬ → ￠ ￡ ￢) are mapped to the CP932 code point first. Nothing is lost: the bytes are
   those every Windows application writes. (Python's cp932 codec already accepts most of
   them, but not — EM DASH; the explicit table makes the rule independent of the codec.)
2. Any other character CP932 cannot encode (髙 U+9AD9, 𠮷 U+20BB7, 㐂, emoji, ...) is replaced
   by 〓 (GETA MARK, the customary placeholder for a missing glyph in Japanese
   administration) and listed in the job report with the 受付番号, the column and the
   character with its code point, so staff can copy it by hand into the core system.
"""

from __future__ import annotations

from dataclasses import dataclass

REPLACEMENT = "\u3013"  # 〓

# JIS X 0208 mapping → CP932 mapping of the same character.
CP932_EQUIVALENTS = str.maketrans(
    {
        "\u301c": "\uff5e",  # 〜 WAVE DASH → ～ FULLWIDTH TILDE
        "\u2016": "\u2225",  # ‖ DOUBLE VERTICAL LINE → ∥ PARALLEL TO
        "\u2212": "\uff0d",  # − MINUS SIGN → － FULLWIDTH HYPHEN-MINUS
        "\u2014": "\u2015",  # — EM DASH → ― HORIZONTAL BAR
        "\u00a2": "\uffe0",  # ¢ → ￠
        "\u00a3": "\uffe1",  # £ → ￡
        "\u00ac": "\uffe2",  # ¬ → ￢
    }
)


@dataclass(slots=True, frozen=True)
class Unencodable:
    character: str

    @property
    def code(self) -> str:
        return f"U+{ord(self.character):04X}"


def encodable(text: str, encoding: str = "cp932") -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def to_cp932(text: str) -> tuple[str, list[Unencodable]]:
    """`text` made encodable in CP932, and the characters that had to be replaced
    (in order of appearance, each character once)."""
    if text.isascii():
        return text, []
    text = text.translate(CP932_EQUIVALENTS)
    if encodable(text):
        return text, []
    out: list[str] = []
    missing: list[Unencodable] = []
    seen: set[str] = set()
    for ch in text:
        if encodable(ch):
            out.append(ch)
            continue
        out.append(REPLACEMENT)
        if ch not in seen:
            seen.add(ch)
            missing.append(Unencodable(ch))
    return "".join(out), missing
