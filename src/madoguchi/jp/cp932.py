"""The one CP932 (Windows-31J / MS932, "Shift_JIS" as Windows writes it) encoder of madoguchi.

Every file the project writes in CP932 (exports, file linkage, CSV of any kind) goes through
`encode` here, so the bytes are the same everywhere and the same as what Windows
(`WideCharToMultiByte(932, ...)`) and Java (`MS932`) write.

Rules, in order:

1. JIS X 0208 code points that CP932 maps to a different Unicode code point for the same JIS
   character (〜 WAVE DASH → ～, − MINUS SIGN → －, ‖ → ∥, — EM DASH → ―, ¢ £ ¬ → ￠ ￡ ￢) are
   written as that CP932 character: nothing is lost, these are the bytes every Windows
   application writes for them.
2. A character CP932 holds twice or three times (396 of them: JIS X 0208 row 2 symbols also in
   NEC row 13 and/or IBM extensions, NEC row 13 symbols also in IBM extensions, and every
   character of the NEC-selected IBM extensions, rows ED/EE, also in the IBM extensions, rows
   FA–FC) is written as Microsoft writes it: the *lowest* byte sequence once rows ED and EE
   are left out. That is the rule of the WHATWG Encoding Standard, "index Shift_JIS pointer"
   (https://encoding.spec.whatwg.org/#index-shift_jis-pointer: the jis0208 index *excluding
   pointers 8272 to 8835*, i.e. lead bytes ED and EE, first pointer wins), written to match
   Windows' cp932 best-fit table (bestfit932.txt, WCTABLE) and Java's MS932. So 髙 U+9AD9 →
   FB FC (Python's codec writes EE E0), 﨑 U+FA11 → FA B1, ⅰ → FA 40, but ∵ → 81 E6 (JIS
   X 0208 row 2 before NEC row 13 and IBM), Ⅰ → 87 54 and № → 87 82 (NEC row 13 before IBM).
   Python's own cp932 codec prefers rows ED/EE for 373 characters; only those are corrected.
3. Characters outside CP932 (𠮷 U+20BB7, 𩸽, 俱, 㐂, emoji, ...) cannot be written. So can't
   private-use characters (U+E000–U+F8FF): Python maps them to the user-defined rows F0–F9 and
   to the single bytes A0, FD–FF, but what a municipality's core system keeps there (外字) is
   its own, never what the resident's device meant; and U+0080, which no Windows table maps.
   `encode` raises UnicodeEncodeError for them (errors="strict") or writes 〓 (GETA MARK, the
   customary placeholder for a missing glyph; errors="replace"); `to_encodable` returns the
   text with 〓 and the list of the characters replaced, for reports.

The tables are derived once from Python's cp932 decode table (every two-byte sequence), so
they cannot drift from the codec they correct.
"""

from __future__ import annotations

import re
from functools import cache

REPLACEMENT = "\u3013"  # 〓
# Text at least this long is encoded by the fast path (see `_encode_fast`).
FAST_MIN_CHARS = 256

# Rule 1: JIS X 0208 mapping → CP932 mapping of the same character.
EQUIVALENTS = str.maketrans(
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

EQUIVALENTS_FROM = "\u301c\u2016\u2212\u2014\u00a2\u00a3\u00ac"
_EQUIVALENTS_RE = re.compile(f"[{EQUIVALENTS_FROM}]")

# Lead bytes of the NEC-selected IBM extensions, never written (rule 2).
NEC_SELECTED_LEADS = (0xED, 0xEE)
_LEADS = [*range(0x81, 0xA0), *range(0xE0, 0xFD)]
_TRAILS = [t for t in range(0x40, 0xFD) if t != 0x7F]


def _refused(ch: str) -> bool:
    code = ord(ch)
    return code == 0x80 or 0xE000 <= code <= 0xF8FF


@cache
def byte_sequences() -> dict[str, tuple[bytes, ...]]:
    """Every character Python's cp932 decodes, with all the byte sequences that decode to it
    (lowest first)."""
    sequences: dict[str, list[bytes]] = {}
    for single in range(0x100):
        raw = bytes([single])
        try:
            sequences.setdefault(raw.decode("cp932"), []).append(raw)
        except UnicodeDecodeError:
            continue
    for lead in _LEADS:
        for trail in _TRAILS:
            raw = bytes([lead, trail])
            try:
                sequences.setdefault(raw.decode("cp932"), []).append(raw)
            except UnicodeDecodeError:
                continue
    return {ch: tuple(sorted(seqs)) for ch, seqs in sequences.items()}


def preferred(sequences: tuple[bytes, ...]) -> bytes:
    """Rule 2: the lowest sequence outside rows ED/EE."""
    return min(s for s in sequences if s[0] not in NEC_SELECTED_LEADS)


@cache
def _corrections() -> tuple[dict[str, bytes], re.Pattern]:
    fixes: dict[str, bytes] = {}
    for ch, seqs in byte_sequences().items():
        if len(seqs) > 1 and not _refused(ch):
            best = preferred(seqs)
            if ch.encode("cp932") != best:
                fixes[ch] = best
    # Characters that need a look of their own: rule 2's corrections and rule 3's refusals.
    special = "".join(re.escape(ch) for ch in sorted(fixes))
    pattern = re.compile(f"([{special}\\x80\\ue000-\\uf8ff])")
    return fixes, pattern


@cache
def unencodable_pattern() -> re.Pattern:
    """Matches any character CP932 cannot hold (after rule 1): one regex search tells whether
    a whole row can be written, at C speed, before the row is encoded in a block."""
    writable = sorted(
        ch for ch in byte_sequences() if not _refused(ch) and not ch.isascii() and len(ch) == 1
    )
    writable += [ch for ch in "".join(EQUIVALENTS_FROM)]
    ranges = "".join(re.escape(ch) for ch in writable)
    return re.compile(f"[^\\x00-\\x7f{ranges}]")


def corrections() -> dict[str, bytes]:
    """Characters Python's cp932 codec writes in rows ED/EE, with Microsoft's bytes."""
    return dict(_corrections()[0])


def _error(text: str, start: int, reason: str = "not in CP932") -> UnicodeEncodeError:
    return UnicodeEncodeError("cp932", text, start, start + 1, reason)


def _encode_plain(text: str, errors: str) -> bytes:
    """Python's codec, for text holding no character of rule 2 or 3."""
    try:
        return text.encode("cp932")
    except UnicodeEncodeError as exc:
        if errors == "strict":
            raise
        out = bytearray(text[: exc.start].encode("cp932"))
        for ch in text[exc.start :]:
            try:
                out += ch.encode("cp932")
            except UnicodeEncodeError:
                out += REPLACEMENT.encode("cp932")
        return bytes(out)


# Fast path for long text (a block of CSV rows): one search finds every character of rules
# 1-3; each of rule 2's characters present is replaced (str.replace, at C speed) by a
# placeholder of three ASCII control and punctuation bytes, the codec writes the whole text in
# one call, and each placeholder is replaced in the bytes by Microsoft's sequence. A byte below
# 0x40 is never the second byte of a two-byte character, so the placeholder cannot be found
# anywhere else; text that holds the placeholders' first character itself takes the slow path.
_PLACEHOLDER_LEAD = "\x1a"


@cache
def _fast_tables() -> tuple[re.Pattern, dict[str, str], dict[bytes, bytes]]:
    fixes, _pattern = _corrections()
    special = "".join(re.escape(ch) for ch in sorted({*fixes, *EQUIVALENTS_FROM}))
    pattern = re.compile(f"[{special}\\x80\\ue000-\\uf8ff]")
    alphabet = [chr(c) for c in range(0x20, 0x40)]
    placeholders = {
        ch: _PLACEHOLDER_LEAD + alphabet[i // 32] + alphabet[i % 32]
        for i, ch in enumerate(sorted(fixes))
    }
    replacements = {placeholders[ch].encode("ascii"): data for ch, data in fixes.items()}
    return pattern, placeholders, replacements


def _encode_fast(text: str) -> bytes | None:
    """`text` in CP932 by the fast path, or None when it cannot be taken (a character outside
    CP932 or refused, or the placeholders' lead character in the text)."""
    pattern, placeholders, replacements = _fast_tables()
    found = set(pattern.findall(text))
    if not found:
        try:
            return text.encode("cp932")
        except UnicodeEncodeError:
            return None
    if _PLACEHOLDER_LEAD in text:
        return None
    swapped = []
    for ch in found:
        target = ch.translate(EQUIVALENTS)
        if target != ch:
            text = text.replace(ch, target)
        if target in placeholders:
            text = text.replace(target, placeholders[target])
            swapped.append(placeholders[target].encode("ascii"))
        elif _refused(target):
            return None
    try:
        data = text.encode("cp932")
    except UnicodeEncodeError:
        return None
    for placeholder in swapped:
        data = data.replace(placeholder, replacements[placeholder])
    return data


def encode(text: str, errors: str = "strict") -> bytes:
    """`text` in CP932 as Windows writes it. errors: "strict" (UnicodeEncodeError naming the
    first character that cannot be written) or "replace" (〓 for each of them)."""
    if text.isascii():
        return text.encode("ascii")
    if len(text) >= FAST_MIN_CHARS:
        data = _encode_fast(text)
        if data is not None:
            return data
    # str.translate looks every character up in a dict: only when one of the seven is there.
    if _EQUIVALENTS_RE.search(text):
        text = text.translate(EQUIVALENTS)
    fixes, pattern = _corrections()
    if pattern.search(text) is None:
        return _encode_plain(text, errors)
    out = bytearray()
    position = 0
    # re.split with one capturing group: even items are plain text, odd items one character.
    for index, part in enumerate(pattern.split(text)):
        if index % 2 == 0:
            if part:
                try:
                    out += _encode_plain(part, errors)
                except UnicodeEncodeError as exc:
                    raise _error(text, position + exc.start) from None
        elif part in fixes:
            out += fixes[part]
        elif errors == "strict":
            raise _error(text, position)
        else:
            out += REPLACEMENT.encode("cp932")
        position += len(part)
    return bytes(out)


def is_encodable(ch: str) -> bool:
    """Whether one character can be written in CP932 (after rule 1)."""
    ch = ch.translate(EQUIVALENTS)
    if _refused(ch):
        return False
    try:
        ch.encode("cp932")
    except UnicodeEncodeError:
        return False
    return True


def unencodable(text: str) -> list[str]:
    """The characters of `text` CP932 cannot hold, in order of appearance, each once."""
    if text.isascii():
        return []
    try:
        encode(text)
    except UnicodeEncodeError:
        pass
    else:
        return []
    seen: dict[str, None] = {}
    for ch in text:
        if ch not in seen and not is_encodable(ch):
            seen[ch] = None
    return list(seen)


def to_encodable(text: str) -> tuple[str, list[str]]:
    """`text` with rule 1 applied and each character CP932 cannot hold replaced by 〓, and
    those characters (in order of appearance, each once)."""
    if text.isascii():
        return text, []
    missing = unencodable(text)
    text = text.translate(EQUIVALENTS)
    if not missing:
        return text, []
    bad = set(missing)
    return "".join(REPLACEMENT if ch in bad else ch for ch in text), missing
