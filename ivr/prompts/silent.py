"""Silent stand-ins for every prompt, for end-to-end tests and benchmarks.

With a real (silent) 8 kHz wav per prompt the IVR plays each prompt with ``STREAM
FILE`` over a real call, so keys arrive while a prompt plays, as a real caller's do,
without depending on rendered speech.
"""

from __future__ import annotations

import wave
from pathlib import Path

from ivr.prompts.catalogue import PromptCatalogue, copy_catalogue


def write_silent_prompts(source: Path, audio_dir: Path, seconds: float = 0.4) -> None:
    """A copy of ``source``'s prompt catalogue in ``audio_dir``, every prompt rendered
    as ``seconds`` of silence (but those with ``{variables}``, spoken at run time)."""
    audio_dir.mkdir(parents=True, exist_ok=True)
    copy_catalogue(source, audio_dir)
    rendered = audio_dir / "rendered"
    rendered.mkdir(exist_ok=True)
    frames = b"\x00\x00" * int(8000 * seconds)
    catalogue = PromptCatalogue.load(audio_dir)
    for prompt_id in catalogue.ids():
        entry = catalogue.get(prompt_id)
        if entry is not None and "{" in entry.text:
            continue  # filled from call variables: spoken at run time, as in production
        with wave.open(str(rendered / f"{prompt_id}.wav"), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(8000)
            wav.writeframes(frames)
