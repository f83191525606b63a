"""The language of what a clerk reads on the terminal: gettext catalogues in ``digitize/locale``.

Vietnamese when ``--lang vi`` is given or the locale is Vietnamese (``LANG=vi_VN.UTF-8``; ``LANGUAGE`` and
``LC_ALL``/``LC_MESSAGES`` are honoured as gettext does), English otherwise. Messages are written in
English in the code (``_("...")``) and translated in ``locale/vi/LC_MESSAGES/digitize.po``, compiled to
``digitize.mo`` by ``scripts/compile_locale.py``.
"""

from __future__ import annotations

import gettext
import os
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "digitize"
LANGUAGES = ("en", "vi")

_translation: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"


def language_from_env(environ: dict[str, str] | None = None) -> str:
    """``vi`` when the environment's locale is Vietnamese, else ``en`` (gettext's order of variables)."""
    env = os.environ if environ is None else environ
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var, "")
        if value:
            first = value.split(":")[0]
            return "vi" if first.lower().startswith("vi") else "en"
    return "en"


def set_language(lang: str | None = None) -> str:
    """Select the catalogue (``None``: from the environment); return the language chosen."""
    global _translation, _language
    lang = lang or language_from_env()
    _language = lang
    if lang == "en":
        _translation = gettext.NullTranslations()
    else:
        _translation = gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang], fallback=True)
    return lang


def language() -> str:
    """The language selected by :func:`set_language` ("en" or "vi")."""
    return _language


def _(message: str) -> str:
    """The message in the selected language."""
    return _translation.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for ``n`` in the selected language."""
    return _translation.ngettext(singular, plural, n)
