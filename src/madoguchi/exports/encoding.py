"""Text for CP932 (Shift_JIS) exports: what cannot be encoded is reported, never silently lost.

The rules are those of the project's one CP932 encoder (`madoguchi.jp.cp932`): JIS X 0208
code points are written as their CP932 equivalents (〜 → ～, − → －, ...), characters CP932
holds twice are written as Windows writes them (髙 → FB FC), and any other character CP932
cannot hold (𠮷 U+20BB7, 㐂, emoji, private use, ...) is replaced by 〓 (GETA MARK, the
customary placeholder for a missing glyph in Japanese administration) and listed in the job
report with the 受付番号, the column and the character with its code point, so staff can copy
it by hand into the core system.
"""

from __future__ import annotations

from dataclasses import dataclass

from madoguchi.jp import cp932

REPLACEMENT = cp932.REPLACEMENT
CP932_EQUIVALENTS = cp932.EQUIVALENTS


@dataclass(slots=True, frozen=True)
class Unencodable:
    character: str

    @property
    def code(self) -> str:
        return f"U+{ord(self.character):04X}"


def to_cp932(text: str) -> tuple[str, list[Unencodable]]:
    """`text` made encodable in CP932, and the characters that had to be replaced
    (in order of appearance, each character once)."""
    text, missing = cp932.to_encodable(text)
    return text, [Unencodable(ch) for ch in missing]
