"""Render the Asterisk config templates in ``asterisk_conf/``.

Templates use :class:`string.Template` placeholders, but only the
``${lowercase_snake_case}`` form: Asterisk's own dialplan variables and
functions are written ``${UPPERCASE}`` / ``${FUNC(args)}`` and expressions
``$[...]``, and those must pass through untouched. So this module uses a
Template subclass whose pattern matches nothing but braced lowercase names
(no ``$name`` form, no ``$$`` escape, no "invalid placeholder" errors).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from string import Template

__all__ = ["ConfTemplate", "RenderError", "render_conf", "render_text"]

#: File names that are rendered; anything else in the source folder (README,
#: notes) is skipped.
CONF_SUFFIXES = (".conf",)


class RenderError(Exception):
    """A template could not be rendered (missing placeholder, unreadable file)."""


#: ``${lower_case}`` only: the other groups string.Template needs never match.
_PLACEHOLDER = r"""
\$(?:
  (?P<escaped>(?!))                   |  # no escape sequence
  (?P<named>(?!))                     |  # no bare $name form
  \{(?P<braced>[a-z][a-z0-9_]*)\}     |  # ${lower_case} only
  (?P<invalid>(?!))                      # nothing is "invalid"
)
"""


class ConfTemplate(Template):
    """``${lower_case}`` placeholders only; every other ``$`` is literal."""

    delimiter = "$"
    flags = re.NOFLAG
    # string.Template takes a str here and compiles it in __init_subclass__.
    pattern = _PLACEHOLDER  # type: ignore[assignment]


def render_text(text: str, values: Mapping[str, str], *, source: str = "<string>") -> str:
    """Fill the placeholders of one template text.

    Raises :class:`RenderError` naming ``source`` and every missing placeholder.
    """
    template = ConfTemplate(text)
    missing = sorted({name for name in template.get_identifiers() if name not in values})
    if missing:
        names = ", ".join("${" + name + "}" for name in missing)
        raise RenderError(f"{source}: no value for placeholder(s) {names}")
    return template.substitute(values)


def render_conf(conf_src: Path, dest_etc: Path, values: Mapping[str, str]) -> None:
    """Render every ``*.conf`` template in ``conf_src`` into ``dest_etc``.

    Files already in ``dest_etc`` with the same names are replaced; other files
    there are left as they are. Every template is rendered before anything is
    written, so a bad template leaves ``dest_etc`` unchanged.
    """
    if not conf_src.is_dir():
        raise RenderError(f"{conf_src}: config template folder not found")
    rendered: dict[str, str] = {}
    for path in sorted(conf_src.iterdir()):
        if not path.is_file() or not path.name.endswith(CONF_SUFFIXES):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise RenderError(f"{path}: cannot read template: {exc}") from exc
        rendered[path.name] = render_text(text, values, source=str(path))
    if not rendered:
        raise RenderError(f"{conf_src}: no *.conf templates found")
    dest_etc.mkdir(parents=True, exist_ok=True)
    for name, text in rendered.items():
        target = dest_etc / name
        tmp = target.with_name(f".{name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)
