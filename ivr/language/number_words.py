"""Indonesian number words, both ways: numbers to words for prompts, words to digits.

Saying numbers (:func:`to_words`, :func:`rupiah_words`, :func:`digits_to_words`)
--------------------------------------------------------------------------------

* Amounts and quantities are read as composed numbers: ``220`` is "dua ratus dua puluh".
  A multiplier of one is the prefix *se-* for puluh, belas, ratus and ribu ("sepuluh",
  "sebelas", "seratus", "seribu", "seribu seratus") but "satu" before juta, miliar and
  triliun ("satu juta"), the usual spoken form; ``101_000`` is "seratus
  satu ribu" (*se-* only when the whole multiplier is one). The largest scale is triliun,
  so the magnitude must stay below 10**15. Negative numbers start with "minus".
* Text input uses the Indonesian decimal comma: ``"220,5"`` is "dua ratus dua puluh koma
  lima", and the digits after the comma are read one by one (``"3,14"`` is "tiga koma
  satu empat"). A dot may only group thousands (``"1.000.000"``); ``"220.5"`` is refused
  rather than read as 2205.
* Identifiers (IDPEL, meter numbers, report numbers, CTT tokens) are read digit by digit,
  zero as "nol", letters by their Indonesian names ("G" is "ge"), optionally in groups.

Hearing numbers (:func:`parse_number_words`)
--------------------------------------------

The recogniser's text is lower-cased; punctuation becomes a space, so "se-ratus" and
"lima, dua" are read as words; the fillers "eh", "em", "hmm" (and a few spellings of
them) are dropped. Every other word must be a number word, or the answer is ``None``:
the IVR asks again rather than guessing. The words are then read left to right:

1. *Digits.* "nol" and "kosong" are 0; "satu" .. "sembilan" (and "lapan") are 1 .. 9.
2. *Composed numbers.* "puluh", "belas", "ratus", "ribu", "juta", "miliar", "triliun"
   (and the spellings "milyar", "trilyun") build a number the usual way. A multiplier of
   one is "se" (fused, "seratus", or apart, "se ratus") or "satu"; a lone "se" is not a
   word, nor is a scale word without a multiplier ("ribu" alone). "nol" never belongs
   to a composed number, and "sepuluh" (or "satu puluh") takes no units after it:
   eleven is "sebelas", so "sepuluh satu" is 10 then 1.
3. *Maximal munch.* At each position the parser takes the longest run of words that
   forms one valid number (a single digit is the shortest such run), then starts again
   after it. The runs' digits are concatenated: "dua belas tiga empat" is 12, 3, 4 =
   ``"1234"``; "seratus dua puluh tiga empat lima enam" is ``"123456"``; "lima tiga dua
   satu, dua belas, tiga empat lima" is ``"532112345"``. There is no backtracking: in
   "lima ribu lima ribu" the longest first run is "lima ribu lima" (5005), the "ribu"
   left over begins no number, and the answer is ``None``. The IVR asks again.
4. *Decimals.* One "koma" splits the integer part from the decimal part; both must be
   non-empty and both follow rule 3. The output keeps the decimal comma: "dua ratus dua
   puluh koma lima" is ``"220,5"``.

The output is a string of ASCII digits (leading zeros kept: "nol delapan satu dua" is
``"0812"``), with at most one ``","``. There is no "minus": callers say identifiers and
meter readings, never negative numbers. For every ``n`` from 0 to 10**15 - 1,
``parse_number_words(to_words(n)) == str(n)``.

Yes or no (:func:`parse_yes_no`)
--------------------------------

Every word must be a yes word, a no word, a filler or a polite form of address ("ya
pak"); all answer words must agree. A negation ("tidak", "bukan", "nggak", "enggak",
"gak") before "benar" or "betul" counts as a no ("tidak benar"); before "salah" ("tidak
salah", not wrong) it is unclear. Anything else, such as "tidak tahu" or "ya tidak", is
``None``: the IVR asks again.
"""

from __future__ import annotations

import re
from typing import Final, Literal, NamedTuple

# --- vocabulary -----------------------------------------------------------------------

#: Digit words as spoken in prompts (zero is "nol", never "kosong").
_UNIT_WORDS: Final = (
    "nol",
    "satu",
    "dua",
    "tiga",
    "empat",
    "lima",
    "enam",
    "tujuh",
    "delapan",
    "sembilan",
)

#: Every digit word the parser accepts, with the recogniser's variants.
_DIGIT_WORDS: Final[dict[str, int]] = {
    **{word: value for value, word in enumerate(_UNIT_WORDS)},
    "kosong": 0,
    "lapan": 8,
}

#: "X belas" is 10 + X, not a multiplication; this marks belas among the scales.
_BELAS: Final = -1
_PULUH: Final = 10
_RATUS: Final = 100
_RIBU: Final = 1_000
_JUTA: Final = 1_000_000
_MILIAR: Final = 1_000_000_000
_TRILIUN: Final = 1_000_000_000_000

#: Scales that may follow a whole below-thousand multiplier, largest first.
_BIG_SCALES: Final = ((_TRILIUN, "triliun"), (_MILIAR, "miliar"), (_JUTA, "juta"), (_RIBU, "ribu"))

_SCALE_WORDS: Final[dict[str, int]] = {
    "puluh": _PULUH,
    "belas": _BELAS,
    "ratus": _RATUS,
    "ribu": _RIBU,
    "juta": _JUTA,
    "miliar": _MILIAR,
    "milyar": _MILIAR,
    "triliun": _TRILIUN,
    "trilyun": _TRILIUN,
}

#: "se" fused with a scale word: "sepuluh", "sebelas", "seratus", "seribu", "sejuta", ...
_SE_WORDS: Final[dict[str, int]] = {"se" + word: scale for word, scale in _SCALE_WORDS.items()}

_SE: Final = "se"
_KOMA: Final = "koma"

#: Hesitations a recogniser writes out; dropped wherever they appear.
FILLER_WORDS: Final = frozenset({"eh", "ehm", "em", "emm", "hm", "hmm"})

#: Every word :func:`parse_number_words` understands, for a recogniser grammar. The
#: fillers are included so that a hesitation is heard as a filler, not as a number.
NUMBER_VOCABULARY: Final[tuple[str, ...]] = (
    *_DIGIT_WORDS,
    *_SCALE_WORDS,
    *_SE_WORDS,
    _SE,
    _KOMA,
    *sorted(FILLER_WORDS),
)

YES_WORDS: Final = frozenset({"ya", "iya", "betul", "benar", "sudah"})
NO_WORDS: Final = frozenset({"tidak", "bukan", "belum", "salah", "nggak", "enggak", "gak"})
#: Forms of address callers add to an answer ("ya pak", "tidak bu"); ignored.
POLITE_WORDS: Final = frozenset({"pak", "bapak", "bu", "ibu", "mas", "mbak", "kak"})
#: Negations that turn "benar" / "betul" into a no ("tidak benar"), "salah" into doubt.
_NEGATIONS: Final = frozenset({"tidak", "bukan", "nggak", "enggak", "gak"})
_NEGATED_YES: Final = frozenset({"benar", "betul"})
#: "tidak salah" (not wrong) leans to yes but is no clear answer.
_NEGATED_NO: Final = frozenset({"salah"})

#: Indonesian letter names, as a letter in a report number is read out.
LETTER_NAMES: Final[dict[str, str]] = {
    "A": "a",
    "B": "be",
    "C": "ce",
    "D": "de",
    "E": "e",
    "F": "ef",
    "G": "ge",
    "H": "ha",
    "I": "i",
    "J": "je",
    "K": "ka",
    "L": "el",
    "M": "em",
    "N": "en",
    "O": "o",
    "P": "pe",
    "Q": "ki",
    "R": "er",
    "S": "es",
    "T": "te",
    "U": "u",
    "V": "ve",
    "W": "we",
    "X": "eks",
    "Y": "ye",
    "Z": "zet",
}

#: The recogniser's (Vosk's) word for "something I could not make out".
UNKNOWN_TOKEN: Final = "[unk]"

# --- numbers to words -----------------------------------------------------------------

#: One past the largest magnitude :func:`to_words` reads (triliun is the largest scale).
WORDS_LIMIT: Final = 10**15

# Optional minus, an integer part (plain, or thousands grouped by dots), an optional
# decimal part after a comma. ASCII digits only: "٣" or full-width digits are refused.
_NUMBER_TEXT: Final = re.compile(r"(-?)([0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+)(?:,([0-9]+))?")
# What digits_to_words drops: how people and printouts group a long number.
_DIGIT_SEPARATORS: Final = re.compile(r"[\s\-.]")


def to_words(value: int | str) -> str:
    """``value`` in Indonesian words, for text-to-speech.

    An ``int``, or text with an optional ``-``, the integer part (thousands optionally
    grouped by dots) and an optional decimal part after a comma: ``"220,5"``.
    Raises :class:`ValueError` for other text or a magnitude of 10**15 or more.
    """
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"to_words takes an int or a str, not {type(value).__name__}")
    if isinstance(value, int):
        return _signed_words(value < 0, abs(value), "")
    match = _NUMBER_TEXT.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"not a number in Indonesian notation: {value!r}")
    sign, integer, fraction = match.groups()
    return _signed_words(sign == "-", int(integer.replace(".", "")), fraction or "")


def rupiah_words(amount: int) -> str:
    """An amount of rupiah in words: ``5000`` is "lima ribu rupiah"."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError(f"rupiah_words takes an int, not {type(amount).__name__}")
    if amount < 0:
        raise ValueError(f"a rupiah amount cannot be negative: {amount}")
    return f"{to_words(amount)} rupiah"


def clock_words(hour: int, minute: int) -> str:
    """A time of day as announcers say it: ``16:00`` is "pukul enam belas", ``16:30``
    "pukul enam belas tiga puluh", ``08:05`` "pukul delapan nol lima", ``00:30`` "pukul
    nol nol tiga puluh" (the 24-hour clock, as PLN's announcements write it; minutes
    below ten keep their "nol")."""
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ValueError(f"not a time of day: {hour}:{minute:02d}")
    words = f"pukul {to_words(hour) if hour else 'nol nol'}"
    if minute == 0:
        return words
    if minute < 10:
        return f"{words} nol {to_words(minute)}"
    return f"{words} {to_words(minute)}"


def digits_to_words(digits: str, group: int = 0) -> str:
    """Read ``digits`` one by one: ``"532112"`` is "lima tiga dua satu satu dua".

    Letters are read by their Indonesian names (``"G"`` is "ge"). Spaces, dashes and dots
    in the input are ignored. With ``group`` > 0 each letter is a group of its own and
    each run of digits is cut into groups of ``group`` from the left (the last may be
    shorter), the groups separated by ", " so that text-to-speech pauses between them:
    ``digits_to_words("G2503100000123", 4)`` is "ge, dua lima nol tiga, satu nol nol
    nol, nol nol satu dua, tiga", the groups of :func:`ivr.domain.reports.digits_for_speech`.
    Raises :class:`ValueError` for an empty input, a
    negative ``group`` or any other character.
    """
    if group < 0:
        raise ValueError(f"group must be 0 or more, not {group}")
    text = _DIGIT_SEPARATORS.sub("", digits)
    if not text:
        raise ValueError("nothing to read: no digits or letters")
    groups = [_spell(chunk) for chunk in _chunks(text, group)]
    return (", " if group else " ").join(groups)


def _signed_words(negative: bool, integer: int, fraction: str) -> str:
    """Words for ``[-]integer[,fraction]``; "minus" only when the value is not zero."""
    if integer >= WORDS_LIMIT:
        raise ValueError(f"too large to read out (triliun is the largest scale): {integer}")
    words = _integer_words(integer)
    if fraction:
        words = f"{words} {_KOMA} {_spell(fraction)}"
    if negative and (integer or fraction.strip("0")):
        words = f"minus {words}"
    return words


def _integer_words(number: int) -> str:
    """``0 <= number < 10**15`` as a composed number."""
    if number == 0:
        return _UNIT_WORDS[0]
    parts: list[str] = []
    for scale, name in _BIG_SCALES:
        multiplier, number = divmod(number, scale)
        if multiplier == 1 and scale == _RIBU:
            parts.append("seribu")
        elif multiplier:
            parts.append(f"{_below_thousand_words(multiplier)} {name}")
    if number:
        parts.append(_below_thousand_words(number))
    return " ".join(parts)


def _below_thousand_words(number: int) -> str:
    """``1 <= number <= 999``: hundreds, then tens and units."""
    hundreds, rest = divmod(number, 100)
    parts: list[str] = []
    if hundreds:
        parts.append("seratus" if hundreds == 1 else f"{_UNIT_WORDS[hundreds]} ratus")
    if rest:
        parts.append(_below_hundred_words(rest))
    return " ".join(parts)


def _below_hundred_words(number: int) -> str:
    """``1 <= number <= 99``."""
    if number < 10:
        return _UNIT_WORDS[number]
    if number == 10:
        return "sepuluh"
    if number == 11:
        return "sebelas"
    if number < 20:
        return f"{_UNIT_WORDS[number - 10]} belas"
    tens, units = divmod(number, 10)
    words = f"{_UNIT_WORDS[tens]} puluh"
    return f"{words} {_UNIT_WORDS[units]}" if units else words


def _chunks(text: str, group: int) -> list[str]:
    """Letters one by one, digit runs cut into ``group``-sized pieces; all of it if 0."""
    if not group:
        return [text]
    chunks: list[str] = []
    for run in re.findall(r"[0-9]+|.", text):
        chunks.extend(run[start : start + group] for start in range(0, len(run), group))
    return chunks


def _spell(chunk: str) -> str:
    """Each character of ``chunk`` by its name: digits as digits, letters by letter name."""
    words: list[str] = []
    for char in chunk:
        if char in "0123456789":
            words.append(_UNIT_WORDS[int(char)])
        elif char.upper() in LETTER_NAMES:
            words.append(LETTER_NAMES[char.upper()])
        else:
            raise ValueError(f"cannot read {char!r} out: only digits and letters A-Z")
    return " ".join(words)


# --- words to numbers -----------------------------------------------------------------


class _Token(NamedTuple):
    """A number word after the variants are resolved."""

    kind: Literal["digit", "scale", "koma"]
    value: int


def parse_number_words(text: str) -> str | None:
    """The digits a caller said, or ``None`` when ``text`` is not a number.

    The rules are in the module docstring: single digits and composed numbers
    concatenate, each composed number the longest valid run of words, one "koma" for
    the decimal part. ``None`` for an empty text, an unknown word, "[unk]", or words
    that form no number ("ribu" alone, a lone "se", "koma" at either end).
    """
    tokens = _tokens(text)
    if tokens is None:
        return None
    commas = [index for index, token in enumerate(tokens) if token.kind == "koma"]
    if len(commas) > 1:
        return None
    if not commas:
        return _digits(tokens)
    integer = _digits(tokens[: commas[0]])
    fraction = _digits(tokens[commas[0] + 1 :])
    if integer is None or fraction is None:
        return None
    return f"{integer},{fraction}"


def parse_yes_no(text: str) -> str | None:
    """``"ya"``, ``"tidak"`` or ``None`` for what a caller answered (module docstring)."""
    words = _words(text)
    if words is None:
        return None
    answers: set[str] = set()
    index = 0
    while index < len(words):
        word = words[index]
        following = words[index + 1] if index + 1 < len(words) else ""
        if word in _NEGATIONS and following in _NEGATED_YES:
            answers.add("tidak")
            index += 2
            continue
        if word in _NEGATIONS and following in _NEGATED_NO:
            return None
        if word in YES_WORDS:
            answers.add("ya")
        elif word in NO_WORDS:
            answers.add("tidak")
        elif word not in POLITE_WORDS:
            return None
        index += 1
    return answers.pop() if len(answers) == 1 else None


def _words(text: str) -> list[str] | None:
    """Lower-cased words without punctuation or fillers; ``None`` if the recogniser gave up.

    Digits stay inside their word ("220" is one word), so a number the recogniser wrote
    as digits is an unknown word, not silently dropped.
    """
    lowered = text.lower()
    if UNKNOWN_TOKEN in lowered:
        return None
    words = re.sub(r"[^\w\s]|_", " ", lowered).split()
    return [word for word in words if word not in FILLER_WORDS]


def _tokens(text: str) -> list[_Token] | None:
    """The number words of ``text`` as tokens; ``None`` for an unknown word or no words.

    "se" becomes a digit 1 and must be followed by a scale word, so "seratus", "se ratus"
    and "satu ratus" all give the same two tokens.
    """
    words = _words(text)
    if not words:
        return None
    tokens: list[_Token] = []
    for index, word in enumerate(words):
        if word in _DIGIT_WORDS:
            tokens.append(_Token("digit", _DIGIT_WORDS[word]))
        elif word in _SCALE_WORDS:
            tokens.append(_Token("scale", _SCALE_WORDS[word]))
        elif word in _SE_WORDS:
            tokens += [_Token("digit", 1), _Token("scale", _SE_WORDS[word])]
        elif word == _SE and index + 1 < len(words) and words[index + 1] in _SCALE_WORDS:
            tokens.append(_Token("digit", 1))
        elif word == _KOMA:
            tokens.append(_Token("koma", 0))
        else:
            return None
    return tokens


def _digits(tokens: list[_Token]) -> str | None:
    """Concatenated digits of successive longest numbers; ``None`` if any word is left."""
    if not tokens:
        return None
    digits: list[str] = []
    index = 0
    while index < len(tokens):
        if tokens[index] == _Token("digit", 0):
            digits.append("0")
            index += 1
            continue
        numbers = _composed(tokens, index, limit=WORDS_LIMIT)
        if not numbers:
            return None
        index = max(numbers)
        digits.append(str(numbers[index]))
    return "".join(digits)


def _digit_at(tokens: list[_Token], index: int) -> int | None:
    """The digit 1..9 at ``index``; ``None`` for zero, a non-digit or the end."""
    if index < len(tokens) and tokens[index].kind == "digit" and tokens[index].value:
        return tokens[index].value
    return None


def _scale_at(tokens: list[_Token], index: int) -> int | None:
    """The scale at ``index``, or ``None``."""
    if index < len(tokens) and tokens[index].kind == "scale":
        return tokens[index].value
    return None


def _composed(tokens: list[_Token], start: int, limit: int) -> dict[int, int]:
    """Every number that starts at ``start``: {index just past its last word: value}.

    ``limit`` bounds the scales allowed (each scale word must be smaller than the one
    before it), so "dua ribu tiga ratus" reads as 2300 and "ribu juta" is no number.
    """
    numbers: dict[int, int] = {}
    for end, value in _below_thousand(tokens, start).items():
        numbers[end] = value
        scale = _scale_at(tokens, end)
        if scale is None or scale < _RIBU or scale >= limit:
            continue
        numbers[end + 1] = value * scale
        for rest_end, rest in _composed(tokens, end + 1, limit=scale).items():
            numbers[rest_end] = value * scale + rest
    return numbers


def _below_thousand(tokens: list[_Token], start: int) -> dict[int, int]:
    """Every number 1..999 that starts at ``start``: {index past its last word: value}."""
    numbers: dict[int, int] = {}
    starts = [(start, 0)]
    hundreds = _digit_at(tokens, start)
    if hundreds is not None and _scale_at(tokens, start + 1) == _RATUS:
        numbers[start + 2] = hundreds * 100
        starts.append((start + 2, hundreds * 100))
    for index, base in starts:
        digit = _digit_at(tokens, index)
        if digit is None:
            continue
        numbers[index + 1] = base + digit
        scale = _scale_at(tokens, index + 1)
        if scale == _BELAS:
            numbers[index + 2] = base + 10 + digit
        elif scale == _PULUH:
            numbers[index + 2] = base + 10 * digit
            units = _digit_at(tokens, index + 2)
            if digit != 1 and units is not None:
                numbers[index + 3] = base + 10 * digit + units
    return numbers
