"""Drive headless Chromium over the DevTools protocol without turning on its Network domain.

Playwright enables the Network domain on every page and worker it controls. Chromium then copies
each request body, base64-encoded, into a `Network.requestWillBeSent` event for the client to
decode: with Playwright attached, a page PUTs 4 MiB chunks at about 15 MiB/s, without it at
about 150 MiB/s (docs/performance.md). A person's browser pays nothing of the kind, so the
browser benchmark talks to Chromium itself, for only what it needs: open a page in a fresh
context, pick a file, click, read the JS heap, and let downloads land in a folder. The tests
keep using Playwright, where this cost does not matter.
"""

import contextlib
import itertools
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from websockets.sync.client import connect

from devtools.chromium import CHROMIUM, CHROMIUM_ARGS

LISTENING = re.compile(r"DevTools listening on (ws://\S+)")


class DevToolsError(RuntimeError):
    """A DevTools command failed, or a page did not reach the awaited state in time."""


def default_executable():
    """Return Debian's Chromium when installed, else the one Playwright installed for itself."""
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        return playwright.chromium.executable_path


class BareChromium:
    """A headless Chromium process and one DevTools connection to it, with flat sessions."""

    def __init__(self, executable=None, timeout=30):
        executable = executable or default_executable()
        self.profile = Path(tempfile.mkdtemp(prefix="bare-chromium-"))
        self.process = subprocess.Popen(
            [executable, "--headless", *CHROMIUM_ARGS, "--remote-debugging-port=0",
             f"--user-data-dir={self.profile}", "--no-first-run", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.connection = contextlib.ExitStack()
        self.ids = itertools.count(1)
        self.events = []
        try:
            self.socket = self.connection.enter_context(
                connect(self._devtools_url(timeout), max_size=None, open_timeout=timeout))
            self.version = self.send("Browser.getVersion")["product"]
        except BaseException:
            self.close()  # never leave a Chromium behind
            raise

    def _devtools_url(self, timeout):
        found = []
        done = threading.Event()

        def read_stderr():  # also keeps draining it, so Chromium never blocks on a full pipe
            for line in self.process.stderr:
                if not found and (match := LISTENING.search(line)):
                    found.append(match.group(1))
                    done.set()
            done.set()

        self.stderr_reader = threading.Thread(target=read_stderr, daemon=True)
        self.stderr_reader.start()
        if not done.wait(timeout) or not found:
            raise DevToolsError("Chromium did not open its DevTools endpoint")
        return found[0]

    def send(self, method, params=None, session=None, timeout=600):
        """Send one command and return its result; events that arrive meanwhile are kept."""
        message = {"id": next(self.ids), "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.socket.send(json.dumps(message))
        while True:
            reply = json.loads(self.socket.recv(timeout=timeout))
            if reply.get("id") == message["id"]:
                break
            if "method" in reply:
                self.events.append(reply)
        if "error" in reply:
            raise DevToolsError(f"{method}: {reply['error'].get('message')}")
        return reply["result"]

    def new_page(self, url, download_dir=None):
        """Open `url` in a new browser context, downloads going to `download_dir`; return a Page."""
        context = self.send("Target.createBrowserContext")["browserContextId"]
        if download_dir is not None:
            self.send("Browser.setDownloadBehavior", {
                "behavior": "allowAndName", "browserContextId": context,
                "downloadPath": os.fspath(download_dir), "eventsEnabled": True})
        target = self.send("Target.createTarget", {
            "url": "about:blank", "browserContextId": context})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})
        page = Page(self, session["sessionId"])
        page.send("Performance.enable")
        page.goto(url)
        return page

    def completed_downloads(self):
        """Return the guids of the downloads Chromium has reported complete so far."""
        self.send("Browser.getVersion")  # a round trip collects the events sent before it
        return [event["params"]["guid"] for event in self.events
                if event.get("method") == "Browser.downloadProgress"
                and event["params"]["state"] == "completed"]

    def close(self):
        try:
            self.connection.close()
        finally:
            self.process.kill()
            self.process.wait()
            if getattr(self, "stderr_reader", None) is not None:
                self.stderr_reader.join(timeout=5)  # ends at EOF, now that Chromium is gone
            self.process.stderr.close()
            shutil.rmtree(self.profile, ignore_errors=True)


class Page:
    """One page target, attached through a flat session."""

    def __init__(self, browser, session):
        self.browser = browser
        self.session = session

    def send(self, method, params=None, timeout=600):
        return self.browser.send(method, params, session=self.session, timeout=timeout)

    def goto(self, url):
        self.send("Page.navigate", {"url": url})
        self.wait_for("document.readyState === 'complete'")

    def evaluate(self, expression):
        """Evaluate `expression` as a click would (user gesture), await it, return its value."""
        result = self.send("Runtime.evaluate", {
            "expression": expression, "awaitPromise": True, "returnByValue": True,
            "userGesture": True})
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            exception = details.get("exception", {})
            raise DevToolsError(exception.get("description", details.get("text")))
        return result["result"].get("value")

    def wait_for(self, expression, timeout=60, every=0.05, during=None):
        """Poll until `expression` is true; call `during()` at each poll (e.g. to sample memory)."""
        deadline = time.monotonic() + timeout
        while not self.evaluate(expression):
            if time.monotonic() > deadline:
                raise DevToolsError(f"{expression} was not true after {timeout} s")
            if during is not None:
                during()
            time.sleep(every)

    def visible(self, selector):
        """Return a JS expression that is true when `selector` matches a visible element."""
        return f"!!document.querySelector({json.dumps(selector)})?.checkVisibility()"

    def click(self, selector):
        self.evaluate(f"document.querySelector({json.dumps(selector)}).click()")

    def set_input_file(self, selector, path):
        """Pick `path` in a file input, as DevTools does for a person choosing it (fires change)."""
        root = self.send("DOM.getDocument")["root"]["nodeId"]
        node = self.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        self.send("DOM.setFileInputFiles", {"files": [os.fspath(path)], "nodeId": node})

    def heap_used(self):
        """Return the page's used JS heap in bytes, as DevTools reports it (JSHeapUsedSize)."""
        metrics = self.send("Performance.getMetrics")["metrics"]
        return next(m["value"] for m in metrics if m["name"] == "JSHeapUsedSize")
