"""What Asterisk's queues say to a waiting caller, in Indonesian.

``app_queue`` (Asterisk 22, ``say_position()``) tells a waiting caller their position
and the expected wait with sound files that ``queues.conf`` may name per queue
(``queue-youarenext``, ``queue-thereare``, ``queue-callswaiting``, ``queue-quantity1``,
``queue-quantity2``, ``queue-holdtime``, ``queue-minute``, ``queue-minutes``,
``queue-seconds``, ``queue-thankyou``; :data:`QUEUE_SOUNDS` maps each to a prompt of
``audio/prompts/antrean.yaml``), and the numbers in between with ``ast_say_number()`` in
the channel's language. The dialplan sets ``CHANNEL(language)=id`` before ``Queue()``.

``main/say.c`` has no Indonesian rules: ``say_number_full()`` knows no ``id`` and falls
back to the English ones (``get_number_str_en()``, which also logs "Language id not
currently supported, defaulting to English" each time). Those rules play
``digits/<n>`` for 0-19, ``digits/<tens>0`` then ``digits/<unit>`` for 20-99, and
``digits/<h>`` + ``digits/hundred`` (+ the rest) for 100-999, the thousands likewise
with ``digits/thousand``. :func:`say_number_files` mirrors them. Asterisk looks a
file up as ``<sounds>/id/digits/<n>`` first (``main/file.c``, ``fileexists_core()``:
the language, then none, then ``en``), so the project's own Indonesian digits
(:data:`NUMBER_PROMPTS`, prompts ``angka_*`` rendered from the same catalogue as
every other prompt) are installed there by :func:`install_number_sounds`.

Indonesian agrees with those rules for every number below 100 ("dua puluh" + "satu",
"sebelas" is a file of its own), so positions 1-99 and waits of 1-99 minutes are
said correctly; the seconds are 0 or 30 with ``announce-round-seconds = 30``. From
100 on the rules put ``digits/1`` before ``digits/hundred`` and ``digits/thousand``:
100-199 are said "satu ratus ..." (standard: "seratus ..."), 1000-1999 "satu ribu
..." (standard: "seribu ..."), understood but not how an announcer says it
(:func:`standard_form` gives the difference); 200-999 are right.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Final

from ivr.prompts.catalogue import PromptCatalogue

__all__ = [
    "DIGITS_FOLDER",
    "LANGUAGE",
    "NUMBER_PROMPTS",
    "QUEUE_SOUNDS",
    "install_number_sounds",
    "say_number_files",
    "standard_form",
]

#: The channel language the dialplan sets before ``Queue()``.
LANGUAGE: Final = "id"

#: Where ``ast_say_number()`` finds its files, under ``<sounds>/<language>/``.
DIGITS_FOLDER: Final = "digits"

#: Each caller-side sound option of ``queues.conf`` and the prompt id it plays, as
#: ``pln123/rendered/<id>``. Indonesian has no plural: ``menit`` for both minute
#: options. ``queue-reporthold`` is played to the CSO (``reportholdtime``, off here).
QUEUE_SOUNDS: Final[dict[str, str]] = {
    "queue-youarenext": "antrean_anda_berikutnya",
    "queue-thereare": "antrean_nomor",
    "queue-callswaiting": "antrean_nomor_akhir",
    "queue-quantity1": "antrean_lebih_dari",
    "queue-quantity2": "antrean_penelepon_menunggu",
    "queue-holdtime": "antrean_perkiraan_waktu",
    "queue-minute": "antrean_menit",
    "queue-minutes": "antrean_menit",
    "queue-seconds": "antrean_detik",
    "queue-thankyou": "antrean_terima_kasih",
}

_HUNDRED: Final = "digits/hundred"
_THOUSAND: Final = "digits/thousand"

#: One past the largest number :func:`say_number_files` mirrors (millions and up need
#: ``digits/million``, which no queue announcement comes near).
_LIMIT: Final = 1_000_000


def say_number_files(number: int) -> list[str]:
    """The files Asterisk 22 plays for ``ast_say_number(number)`` in a language
    ``main/say.c`` has no rules for (``id``): its English rules, ``get_number_str_en``.

    ``21`` is ``["digits/20", "digits/1"]``, ``115`` is ``["digits/1",
    "digits/hundred", "digits/15"]``. Raises :class:`ValueError` outside 0-999999.
    """
    if not 0 <= number < _LIMIT:
        raise ValueError(f"not mirrored: {number} (0 to {_LIMIT - 1} only)")
    if number == 0:
        return ["digits/0"]
    files: list[str] = []
    if number >= 1000:
        files += [*say_number_files(number // 1000), _THOUSAND]
        number %= 1000
    if number >= 100:
        files += [f"digits/{number // 100}", _HUNDRED]
        number %= 100
    if number >= 20:
        files.append(f"digits/{number // 10 * 10}")
        number %= 10
    if number:
        files.append(f"digits/{number}")
    return files


def _number_prompt(sound: str) -> str:
    name = sound.removeprefix(f"{DIGITS_FOLDER}/")
    return "angka_" + {"hundred": "ratus", "thousand": "ribu"}.get(name, name)


#: Every ``digits/*`` file :func:`say_number_files` can ask for, and the prompt id of
#: ``audio/prompts/antrean.yaml`` that says it in Indonesian (``digits/21`` is never
#: asked for: 21 is ``digits/20`` + ``digits/1``).
NUMBER_PROMPTS: Final[dict[str, str]] = {
    sound: _number_prompt(sound)
    for sound in [
        *(f"digits/{n}" for n in [*range(20), *range(20, 100, 10)]),
        _HUNDRED,
        _THOUSAND,
    ]
}


def standard_form(words: str) -> str:
    """How an announcer says what :func:`say_number_files` plays as ``words``: "satu
    ratus" is "seratus", "satu ribu" is "seribu" at the start of a number."""
    for long, short in (("satu ribu", "seribu"), ("satu ratus", "seratus")):
        if words == long or words.startswith(long + " "):
            words = short + words[len(long) :]
        words = words.replace(f"ribu {long}", f"ribu {short}")
    return words


def install_number_sounds(audio_dir: Path, sounds_dir: Path) -> list[Path]:
    """Copy each number prompt's audio (a recording wins over a rendering) to
    ``<sounds_dir>/id/digits/<name>.wav``, where Asterisk looks first for the numbers
    of a channel whose language is ``id``; the files written, in order.

    ``sounds_dir`` is Asterisk's sounds folder (``/usr/share/asterisk/sounds`` on
    Debian). A number prompt without audio (``pln123 prompts build`` not run) is
    refused with :class:`FileNotFoundError`: Asterisk would say it in English.
    """
    catalogue = PromptCatalogue.load(audio_dir)
    missing = [
        prompt_id
        for prompt_id in NUMBER_PROMPTS.values()
        if (entry := catalogue.get(prompt_id)) is None or entry.audio is None
    ]
    if missing:
        raise FileNotFoundError(
            f"{audio_dir}: no audio for {', '.join(missing)} (run `pln123 prompts build`)"
        )
    target = sounds_dir / LANGUAGE / DIGITS_FOLDER
    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for sound, prompt_id in NUMBER_PROMPTS.items():
        entry = catalogue.get(prompt_id)
        assert entry is not None and entry.audio is not None
        dest = target / f"{sound.removeprefix(DIGITS_FOLDER + '/')}.wav"
        if dest.is_symlink():
            dest.unlink()
        shutil.copyfile(entry.audio, dest)
        written.append(dest)
    return written
