"""Serve the browser app: the sender's page, the recipient's page and the service worker.

The pages are static shells. The recipient's page never touches Redis: its script reads the
share's status itself, so opening a link consumes nothing, and a malformed id is answered 404
without asking anyone. Every script and stylesheet is loaded with Subresource Integrity; for ES
modules that means a `<link rel="modulepreload" integrity=...>` for each module of a page's
import graph, because an `import` statement cannot carry an integrity value of its own: the
preload puts the verified module into the module map, and every later import reuses it.
"""

import base64
import hashlib
import re
import threading
from pathlib import Path

from flask import Blueprint, current_app, render_template, send_from_directory

from . import languages
from .errors import refuse

bp = Blueprint("pages", __name__)

SHARE_ID = re.compile(r"[A-Za-z0-9_-]{22}")
SRI_KEY = "onetimeshare.sri"
SERVICE_WORKER = "js/sw.js"
MANIFEST = "manifest.webmanifest"

# Static imports and re-exports at the start of a line: `import x from './a.js'`,
# `import './a.js'`, `export { x } from './a.js'`. Braces may span lines; what comes before
# `from` may hold only names, braces, commas and `*`, so `export const X = 'text'`, a comment, or a
# dynamic `import()` is never taken for an import.
IMPORT = re.compile(
    r"""^[ \t]*(?:import[ \t]*(['"])(?P<bare>[^'"]+)\1"""
    r"""|(?:import|export)\s[\w\s{},*$]*?\bfrom\s*(['"])(?P<from>[^'"]+)\3)""",
    re.MULTILINE,
)


@bp.get("/")
def send():
    """Show the sender's page: drop files or write a note, encrypt, upload, get a link."""
    return localized(render_template("send.html", entry="js/pages/send.js"))


@bp.get("/s/<sid>")
def receive(sid):
    """Show the recipient's page; its script reads the status, so nothing is consumed here."""
    if not SHARE_ID.fullmatch(sid):
        refuse(404, "not_found", "This is not a share link: check that it was copied whole.")
    return localized(render_template("receive.html", entry="js/pages/receive.js"))


def localized(body):
    """Answer a page whose words depend on Accept-Language, so caches keep one per language."""
    response = current_app.make_response(body)
    response.vary.add("Accept-Language")
    return response


@bp.get("/sw.js")
def service_worker():
    """Serve the service worker from the root, so it may answer the download URLs it makes."""
    response = send_from_directory(current_app.static_folder, SERVICE_WORKER,
                                   mimetype="text/javascript", max_age=0)
    response.headers["Service-Worker-Allowed"] = "/"
    del response.headers["Content-Disposition"]  # a script to run, not a file to save
    return response


@bp.get("/manifest.webmanifest")
def manifest():
    """Serve the web app manifest (an installable app) with its registered type.

    It names no share target on purpose: a share sheet's post reaches the server with the files
    in clear whenever the browser has lost the service worker that would catch it, and nothing
    the server receives may hold plaintext. Paste and drop cover the same need from the page.
    """
    response = send_from_directory(current_app.static_folder, MANIFEST,
                                   mimetype="application/manifest+json", max_age=3600)
    del response.headers["Content-Disposition"]
    return response


@bp.app_context_processor
def asset_helpers():
    """Give templates `sri(path)`, `modules(entry)` and the page's language (languages.py)."""
    return {"sri": sri, "modules": modules, **languages.template_helpers()}


class Assets:
    """Integrity values and import graphs of the static files, computed once per app."""

    def __init__(self, root):
        self.root = Path(root).resolve()
        self.lock = threading.Lock()
        self.integrity = {}
        self.graphs = {}

    def path(self, name):
        path = (self.root / name).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            raise LookupError(f"no static file {name!r}")
        return path

    def sri(self, name):
        with self.lock:
            if name not in self.integrity:
                digest = hashlib.sha384(self.path(name).read_bytes()).digest()
                self.integrity[name] = "sha384-" + base64.b64encode(digest).decode()
            return self.integrity[name]

    def modules(self, entry):
        with self.lock:
            if entry not in self.graphs:
                self.graphs[entry] = tuple(self._walk(entry))
            return self.graphs[entry]

    def _walk(self, entry):
        """Return every module `entry` imports, directly or not, dependencies first."""
        order, seen = [], set()

        def visit(name, chain):
            if name in seen:
                return
            if name in chain:  # an import cycle: the module map copes, so do we
                return
            source = self.path(name).read_text(encoding="utf-8")
            for match in IMPORT.finditer(source):
                specifier = match.group("bare") or match.group("from")
                if not specifier.startswith(("./", "../")):
                    raise LookupError(f"{name} imports {specifier!r}: only relative imports "
                                      "of this origin's own files are allowed")
                target = (self.root / name).parent / specifier
                visit(target.resolve().relative_to(self.root).as_posix(), chain | {name})
            seen.add(name)
            order.append(name)

        visit(entry, frozenset())
        return order


def assets():
    """Return the app's asset table, creating it on first use."""
    return languages.static_table(SRI_KEY, Assets)


def sri(name):
    """Return the `sha384-…` integrity value of the static file `name` (e.g. 'css/app.css')."""
    return assets().sri(name)


def modules(entry):
    """Return the static paths of `entry` and every module it imports, dependencies first."""
    return assets().modules(entry)
