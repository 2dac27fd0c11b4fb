"""Indonesian number words: numbers to words for prompts, and what callers say to digits."""

from __future__ import annotations

import random

import pytest

from ivr.domain.reports import digits_for_speech
from ivr.language.number_words import (
    FILLER_WORDS,
    LETTER_NAMES,
    NO_WORDS,
    NUMBER_VOCABULARY,
    WORDS_LIMIT,
    YES_WORDS,
    digits_to_words,
    parse_number_words,
    parse_yes_no,
    rupiah_words,
    to_words,
)

# --- to_words ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (0, "nol"),
        (1, "satu"),
        (7, "tujuh"),
        (8, "delapan"),
        (9, "sembilan"),
        (10, "sepuluh"),
        (11, "sebelas"),
        (12, "dua belas"),
        (19, "sembilan belas"),
        (20, "dua puluh"),
        (21, "dua puluh satu"),
        (99, "sembilan puluh sembilan"),
        (100, "seratus"),
        (101, "seratus satu"),
        (110, "seratus sepuluh"),
        (111, "seratus sebelas"),
        (123, "seratus dua puluh tiga"),
        (220, "dua ratus dua puluh"),
        (999, "sembilan ratus sembilan puluh sembilan"),
        (1000, "seribu"),
        (1001, "seribu satu"),
        (1100, "seribu seratus"),
        (1200, "seribu dua ratus"),
        (2000, "dua ribu"),
        (5000, "lima ribu"),
        (12_000, "dua belas ribu"),
        (100_000, "seratus ribu"),
        (101_000, "seratus satu ribu"),
        (111_111, "seratus sebelas ribu seratus sebelas"),
        (1_000_000, "satu juta"),
        (1_001_000, "satu juta seribu"),
        (2_500_000, "dua juta lima ratus ribu"),
        (1_000_000_000, "satu miliar"),
        (1_000_000_000_000, "satu triliun"),
        (
            999_999_999_999_999,
            "sembilan ratus sembilan puluh sembilan triliun "
            "sembilan ratus sembilan puluh sembilan miliar "
            "sembilan ratus sembilan puluh sembilan juta "
            "sembilan ratus sembilan puluh sembilan ribu "
            "sembilan ratus sembilan puluh sembilan",
        ),
        (-5, "minus lima"),
        (-1000, "minus seribu"),
    ],
)
def test_to_words_int(value: int, words: str) -> None:
    assert to_words(value) == words


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("220", "dua ratus dua puluh"),
        ("220,5", "dua ratus dua puluh koma lima"),
        ("3,14", "tiga koma satu empat"),
        ("3,05", "tiga koma nol lima"),
        ("0,5", "nol koma lima"),
        ("-0,5", "minus nol koma lima"),
        ("-0", "nol"),
        ("-12,5", "minus dua belas koma lima"),
        ("007", "tujuh"),
        ("1.000", "seribu"),
        ("1.000.000", "satu juta"),
        ("1.250.000,75", "satu juta dua ratus lima puluh ribu koma tujuh lima"),
        (" 42 ", "empat puluh dua"),
    ],
)
def test_to_words_text(text: str, words: str) -> None:
    assert to_words(text) == words


@pytest.mark.parametrize(
    "text",
    [
        "",
        "220.5",  # a dot is not a decimal point in Indonesian
        "1.00",
        "1,000.5",
        "12,",
        ",5",
        "1,2,3",
        "abc",
        "+5",
        "--5",
        "1 000",
        "\uff15",  # full-width 5
    ],
)
def test_to_words_refuses_other_text(text: str) -> None:
    with pytest.raises(ValueError):
        to_words(text)


@pytest.mark.parametrize("value", [WORDS_LIMIT, -WORDS_LIMIT, str(WORDS_LIMIT)])
def test_to_words_refuses_beyond_triliun(value: int | str) -> None:
    with pytest.raises(ValueError):
        to_words(value)


def test_to_words_refuses_other_types() -> None:
    with pytest.raises(TypeError):
        to_words(True)
    with pytest.raises(TypeError):
        to_words(2.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        (0, "nol rupiah"),
        (5000, "lima ribu rupiah"),
        (20_000, "dua puluh ribu rupiah"),
        (1_000_000, "satu juta rupiah"),
        (1_500, "seribu lima ratus rupiah"),
        (152_500, "seratus lima puluh dua ribu lima ratus rupiah"),
    ],
)
def test_rupiah_words(amount: int, words: str) -> None:
    assert rupiah_words(amount) == words


def test_rupiah_words_refuses_negative_and_non_int() -> None:
    with pytest.raises(ValueError):
        rupiah_words(-5000)
    with pytest.raises(TypeError):
        rupiah_words("5000")  # type: ignore[arg-type]


# --- digits_to_words --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("digits", "group", "words"),
    [
        ("532112", 0, "lima tiga dua satu satu dua"),
        ("0", 0, "nol"),
        ("0812", 0, "nol delapan satu dua"),
        ("1234567890", 0, "satu dua tiga empat lima enam tujuh delapan sembilan nol"),
        ("12345678", 4, "satu dua tiga empat, lima enam tujuh delapan"),
        ("123456", 4, "satu dua tiga empat, lima enam"),
        ("123", 4, "satu dua tiga"),
        ("532112", 3, "lima tiga dua, satu satu dua"),
        (
            "G2503100000123",
            4,
            "ge, dua lima nol tiga, satu nol nol nol, nol nol satu dua, tiga",
        ),
        ("K2401050000001", 0, "ka dua empat nol satu nol lima nol nol nol nol nol nol satu"),
        ("g12", 0, "ge satu dua"),
        (
            "1234 5678-90.12",
            4,
            "satu dua tiga empat, lima enam tujuh delapan, sembilan nol satu dua",
        ),
        ("AB12", 4, "a, be, satu dua"),
    ],
)
def test_digits_to_words(digits: str, group: int, words: str) -> None:
    assert digits_to_words(digits, group) == words


def test_ctt_token_in_five_groups_of_four() -> None:
    words = digits_to_words("12345678901234567890", group=4)
    groups = words.split(", ")
    assert len(groups) == 5
    assert all(len(group.split()) == 4 for group in groups)
    assert groups[0] == "satu dua tiga empat"


def test_letter_names_cover_the_alphabet() -> None:
    assert sorted(LETTER_NAMES) == [chr(code) for code in range(ord("A"), ord("Z") + 1)]
    assert LETTER_NAMES["G"] == "ge"
    assert LETTER_NAMES["K"] == "ka"
    for letter, name in LETTER_NAMES.items():
        assert digits_to_words(letter) == name
        assert digits_to_words(letter.lower()) == name


@pytest.mark.parametrize(
    ("digits", "group"), [("", 0), (" - ", 4), ("12#3", 0), ("12#3", 2), ("\uff11", 0), ("12", -1)]
)
def test_digits_to_words_refuses(digits: str, group: int) -> None:
    with pytest.raises(ValueError):
        digits_to_words(digits, group)


# --- parse_number_words: digits one by one ----------------------------------------------


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("lima tiga dua satu satu dua tiga empat lima enam tujuh delapan", "532112345678"),
        ("satu satu", "11"),
        ("nol", "0"),
        ("kosong", "0"),
        ("nol delapan satu dua", "0812"),
        ("kosong delapan satu dua", "0812"),
        ("nol nol nol", "000"),
        ("satu dua tiga empat lima enam tujuh delapan sembilan nol", "1234567890"),
        ("lapan", "8"),
        ("satu lapan", "18"),
    ],
)
def test_parse_digits_one_by_one(text: str, digits: str) -> None:
    assert parse_number_words(text) == digits


# --- parse_number_words: composed numbers -----------------------------------------------


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("seratus dua puluh tiga", "123"),
        ("seribu dua ratus", "1200"),
        ("sebelas", "11"),
        ("sepuluh", "10"),
        ("dua belas", "12"),
        ("dua belas ribu", "12000"),
        ("satu juta", "1000000"),
        ("sejuta", "1000000"),
        ("lima ribu", "5000"),
        ("seratus ribu", "100000"),
        ("seratus satu ribu", "101000"),
        ("dua ribu tiga ratus", "2300"),
        ("dua ratus lima puluh juta", "250000000"),
        ("satu miliar", "1000000000"),
        ("satu milyar", "1000000000"),
        ("semiliar", "1000000000"),
        ("dua triliun", "2000000000000"),
        ("dua trilyun", "2000000000000"),
        # "satu" is accepted as the multiplier one, like "se"
        ("satu ratus", "100"),
        ("satu ribu", "1000"),
        ("satu belas", "11"),
    ],
)
def test_parse_composed(text: str, digits: str) -> None:
    assert parse_number_words(text) == digits


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("dua ratus dua puluh koma lima", "220,5"),
        ("tiga koma satu empat", "3,14"),
        ("nol koma lima", "0,5"),
        ("tiga koma nol lima", "3,05"),
        ("dua belas koma dua puluh lima", "12,25"),
        ("satu koma dua belas tiga", "1,123"),
    ],
)
def test_parse_decimals(text: str, digits: str) -> None:
    assert parse_number_words(text) == digits


# --- parse_number_words: mixtures (longest run, then concatenate) -----------------------


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("lima tiga dua satu, dua belas, tiga empat lima", "532112345"),
        ("dua belas tiga empat", "1234"),
        ("seratus dua puluh tiga empat lima enam", "123456"),
        ("lima ratus tiga puluh dua satu satu dua", "532112"),
        (
            "lima ratus tiga puluh dua, seratus dua puluh tiga, empat ratus lima puluh enam",
            "532123456",
        ),
        ("dua puluh tiga empat", "234"),
        ("seratus dua", "102"),  # one number: 102, not 100 then 2
        ("sepuluh satu", "101"),  # "sepuluh" takes no units: 10 then 1
        ("seratus nol lima", "10005"),  # "nol" never joins a composed number
        ("dua satu belas", "211"),
        ("dua belas dua belas", "1212"),
        ("sebelas sebelas", "1111"),
        ("lima ribu nol nol", "500000"),
        ("nol delapan satu dua, tiga empat lima enam, tujuh delapan sembilan", "08123456789"),
    ],
)
def test_parse_mixtures(text: str, digits: str) -> None:
    assert parse_number_words(text) == digits


@pytest.mark.parametrize(
    "text",
    [
        # The longest first run is "lima ribu lima" (5005); the "ribu" left over begins no
        # number. No backtracking: the IVR asks again.
        "lima ribu lima ribu",
        "dua ratus dua ratus",
    ],
)
def test_parse_no_backtracking(text: str) -> None:
    assert parse_number_words(text) is None


# --- parse_number_words: recogniser variants --------------------------------------------


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("se ratus dua puluh tiga", "123"),
        ("se-ratus", "100"),
        ("se ribu", "1000"),
        ("se puluh", "10"),
        ("se belas", "11"),
        ("se juta", "1000000"),
        ("SERATUS Dua Puluh TIGA", "123"),
        ("  lima   tiga\tdua\n", "532"),
        ("lima. tiga! dua?", "532"),
        ("eh lima tiga em dua hmm", "532"),
        ("ehm seribu", "1000"),
        ("delapan lapan", "88"),
    ],
)
def test_parse_variants(text: str, digits: str) -> None:
    assert parse_number_words(text) == digits


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        ",.!",
        "eh",
        "eh hmm",
        "ribu",  # a scale word without a multiplier
        "juta",
        "puluh",
        "belas",
        "ratus lima",
        "se",  # "se" only as a prefix
        "se lima",
        "lima se",
        "o",  # only "nol" and "kosong" are zero
        "lima o dua",
        "koma",
        "koma lima",
        "lima koma",
        "satu koma dua koma tiga",
        "[unk]",
        "lima [unk] dua",
        "lima tiga apa",
        "tidak",
        "ampat",
        "220",  # digits written out by the recogniser: not a word we know
        "lima 2",
        "nol ratus",
        "nol belas",
        "ribu juta",
        "dua ribu juta",
        "seratus ratus",
    ],
)
def test_parse_not_numbers(text: str) -> None:
    assert parse_number_words(text) is None


# --- round trip -------------------------------------------------------------------------


def test_round_trip_exhaustive_to_twenty_thousand() -> None:
    for number in range(20_001):
        assert parse_number_words(to_words(number)) == str(number), number


def test_round_trip_sampled_large() -> None:
    rng = random.Random(20240123)
    samples = [rng.randrange(10**12) for _ in range(3000)]
    samples += [rng.randrange(WORDS_LIMIT) for _ in range(2000)]
    # Every magnitude, and the edges around each scale.
    for exponent in range(3, 15):
        base = 10**exponent
        samples += [base - 1, base, base + 1, 2 * base, 11 * base // 10]
    samples += [999_999_999_999, WORDS_LIMIT - 1]
    for number in samples:
        assert parse_number_words(to_words(number)) == str(number), number


def test_round_trip_decimals() -> None:
    rng = random.Random(7)
    for _ in range(500):
        fraction = "".join(rng.choice("0123456789") for _ in range(rng.randrange(1, 5)))
        text = f"{rng.randrange(10**6)},{fraction}"
        assert parse_number_words(to_words(text)) == text


def test_round_trip_digits() -> None:
    rng = random.Random(11)
    for _ in range(500):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randrange(1, 21)))
        assert parse_number_words(digits_to_words(digits)) == digits
        assert parse_number_words(digits_to_words(digits, group=4)) == digits


# --- vocabulary -------------------------------------------------------------------------


def test_vocabulary_has_no_duplicates_and_is_lower_case() -> None:
    assert len(set(NUMBER_VOCABULARY)) == len(NUMBER_VOCABULARY)
    assert all(word == word.lower() and word.isalpha() for word in NUMBER_VOCABULARY)
    assert set(NUMBER_VOCABULARY) >= FILLER_WORDS


def test_every_vocabulary_word_is_understood() -> None:
    contexts = ("{}", "dua {}", "{} ratus", "satu {} dua", "eh {} dua")
    for word in NUMBER_VOCABULARY:
        understood = any(
            parse_number_words(context.format(word)) is not None for context in contexts
        )
        assert understood, word


def test_vocabulary_covers_every_word_of_to_words() -> None:
    rng = random.Random(3)
    spoken: set[str] = set()
    for number in [*range(2000), *(rng.randrange(WORDS_LIMIT) for _ in range(500))]:
        spoken.update(to_words(number).split())
    spoken.update(to_words("1,5").split())
    assert spoken <= set(NUMBER_VOCABULARY)


# --- yes / no ---------------------------------------------------------------------------


@pytest.mark.parametrize("word", sorted(YES_WORDS))
def test_yes_words(word: str) -> None:
    assert parse_yes_no(word) == "ya"


@pytest.mark.parametrize("word", sorted(NO_WORDS))
def test_no_words(word: str) -> None:
    assert parse_yes_no(word) == "tidak"


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("Ya, betul.", "ya"),
        ("iya pak", "ya"),
        ("eh ya sudah", "ya"),
        ("ya ya", "ya"),
        ("tidak, bukan", "tidak"),
        ("belum bu", "tidak"),
        ("tidak benar", "tidak"),
        ("bukan betul", "tidak"),
        ("enggak betul pak", "tidak"),
        ("  NGGAK  ", "tidak"),
    ],
)
def test_parse_yes_no(text: str, answer: str) -> None:
    assert parse_yes_no(text) == answer


@pytest.mark.parametrize(
    "text",
    [
        "",
        "eh",
        "pak",
        "ya tidak",
        "tidak tahu",
        "mungkin",
        "[unk]",
        "ya [unk]",
        "tidak salah",
        "satu",
    ],
)
def test_parse_yes_no_unclear(text: str) -> None:
    assert parse_yes_no(text) is None


def test_yes_and_no_words_are_disjoint() -> None:
    assert not YES_WORDS & NO_WORDS


@pytest.mark.parametrize("number", ["G2503100000123", "K2401050000001", "G2611230000012"])
def test_report_number_groups_match_the_domain(number: str) -> None:
    """Grouped reading agrees with :func:`ivr.domain.reports.digits_for_speech`."""
    expected = ", ".join(digits_to_words(group) for group in digits_for_speech(number))
    assert digits_to_words(number, group=4) == expected
