"""Choose the page's language and give templates its words.

Every language the pages speak is listed once, in static/locales/index.json (tag, own name,
writing direction); its words are static/locales/<tag>.json, the same catalogue the browser
loads. A language whose catalogue file is missing is not offered, so adding one is one line in
the index plus its file. The server picks the language from Accept-Language (werkzeug's
best_match, which also lets "pt-BR" find "pt" and "zh" find "zh-CN"); the page's switcher may
override it with a choice remembered in the browser (js/pages/language.js). Error pages have
no script, so the server fills in their words itself from the same catalogue.
"""

import json
import threading
from dataclasses import dataclass
from pathlib import Path

from flask import current_app, has_request_context, request
from werkzeug.datastructures import LanguageAccept

DEFAULT = "en"
INDEX = "locales/index.json"
KEY = "onetimeshare.languages"


@dataclass(frozen=True)
class Language:
    tag: str
    name: str  # in the language itself, as the switcher lists it
    dir: str  # "ltr" or "rtl"

    @property
    def catalogue(self):
        return f"locales/{self.tag}.json"


class Languages:
    """The shipped languages and their catalogues, read once per app."""

    def __init__(self, static_folder):
        root = Path(static_folder)
        index = json.loads((root / INDEX).read_text(encoding="utf-8"))
        self.root = root
        self.all = tuple(
            Language(tag, entry["name"], entry.get("dir", "ltr"))
            for tag, entry in index.items()
            if (root / "locales" / f"{tag}.json").is_file()
        )
        self.by_tag = {language.tag: language for language in self.all}
        self.lock = threading.Lock()
        self.catalogues = {}

    def negotiate(self, accept):
        """Return the Language that fits `accept` (a werkzeug LanguageAccept) best.

        Each accepted language is tried in the order of its quality, with werkzeug's
        best_match (which falls back to the primary subtag), so "fr-CA, en;q=0.3" gets French:
        asked all at once, an exact "en" would beat the fallback from "fr-CA" to "fr".
        """
        tags = list(self.by_tag)
        for value, quality in accept:  # werkzeug keeps them sorted, best quality first
            if quality > 0:
                match = LanguageAccept([(value, quality)]).best_match(tags)
                if match is not None:
                    return self.by_tag[match]
        return self.by_tag[DEFAULT]

    def words(self, tag):
        with self.lock:
            if tag not in self.catalogues:
                path = self.root / self.by_tag[tag].catalogue
                self.catalogues[tag] = json.loads(path.read_text(encoding="utf-8"))
            return self.catalogues[tag]

    def translate(self, tag, key, **params):
        """Return message `key` in `tag` (English when missing), placeholders filled in."""
        message = self.words(tag).get(key)
        if message is None:
            message = self.words(DEFAULT).get(key, key)
        for name, value in params.items():
            message = message.replace("{" + name + "}", str(value))
        return message


def static_table(key, build):
    """Return the current app's `build(static_folder)`, built on first use and kept per app.

    For tables read from the shipped static files (the catalogues here, the asset hashes in
    `server/pages.py`): read once, never at import time, and never shared between apps.
    """
    app = current_app._get_current_object()
    table = app.extensions.get(key)
    if table is None:
        table = app.extensions.setdefault(key, build(app.static_folder))
    return table


def languages():
    """Return the app's language table, reading the index on first use."""
    return static_table(KEY, Languages)


def current():
    """Return the Language negotiated for this request (cached on the request)."""
    if not has_request_context():
        return languages().by_tag[DEFAULT]
    if not hasattr(request, "_onetimeshare_language"):
        request._onetimeshare_language = languages().negotiate(request.accept_languages)
    return request._onetimeshare_language


def template_helpers():
    """Template globals: the page's language, every language for the switcher, and `tr`."""
    language = current()
    return {
        "language": language,
        "languages": languages().all,
        "tr": lambda key, **params: languages().translate(language.tag, key, **params),
    }
