"""Open a local HTML file in headless Chromium and report what a user's browser would do with it.

The report must open offline, draw every figure and run nothing from a document; only a real browser can
tell. This drives Debian's ``chromium`` over the DevTools protocol (``websockets``' sync client): it records
console errors and uncaught exceptions, every request the page makes (with the network emulated offline, so
nothing leaves the machine even if one is made), and every JavaScript dialog (an ``alert`` means a script from
a document ran), waits until each figure container holds a drawn plot, and takes a full-page screenshot.

Use ``render_page(path)`` for one page, or ``with Browser() as browser: browser.render_page(path)`` to share
one browser between the pages of a test module. ``chromium_executable()`` is None where Chromium is missing
(a user's clone); tests skip then.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
    # WebGL figures (scattergl) draw on Chromium's software GPU; newer versions drop the silent fallback to it
    "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
    "--remote-debugging-port=0",  # Chromium picks a free port and writes it to DevToolsActivePort
)
FIGURE_SELECTOR = "div.figure"
VIEWPORT = (1280, 900)
MAX_SCREENSHOT_HEIGHT = 16000  # Chromium's texture limit is 16384 px
INSTALL_HINT = "Chromium is not installed (Debian: apt-get install chromium; .ci/run installs it)"

_COUNT_FIGURES = """(() => {
  const figures = [...document.querySelectorAll(%s)];
  // plotly draws a "WebGL is not supported" box (.no-webgl) over a WebGL trace it could not draw
  const drawn = figures.filter(div => div.querySelector(".main-svg, svg, canvas") && !div.querySelector(".no-webgl"));
  return {count: figures.length, drawn: drawn.length,
          boxes: figures.map(div => { const r = div.getBoundingClientRect();
            return [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height]; })};
})()"""
# A fetch the page's Content-Security-Policy blocks never reaches the Network domain, and a blocked eval
# logs nothing: report every violation through a binding instead.
_CSP_BINDING = "__reportCspViolation"
_CSP_LISTENER = """document.addEventListener("securitypolicyviolation", event => %s(JSON.stringify(
  {directive: event.effectiveDirective || event.violatedDirective, blocked: event.blockedURI})));""" % _CSP_BINDING
# Two animation frames after the last plot: plotly has painted by then
_SETTLE = "new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => done(true))))"


class BrowserError(RuntimeError):
    """Chromium did not start, or a page did not load or draw in time."""


@dataclass(frozen=True)
class PageResult:
    """What the browser saw while opening one page.

    ``network_requests`` holds the URL of every request other than the page itself and data:/blob: URLs,
    also those the page's Content-Security-Policy blocked before they were sent; ``console_errors`` also
    holds every CSP violation (a blocked eval or fetch), which Chromium would otherwise not report;
    ``dialogs`` the message of every alert/confirm/prompt; ``figure_boxes`` each figure container's
    (x, y, width, height) in CSS pixels of the full page, as in ``screenshot_png`` (scale 1);
    ``evaluations`` the value of each expression passed to ``render_page`` after the figures were drawn.
    """

    console_errors: list[str]
    network_requests: list[str]
    dialogs: list[str]
    figure_count: int
    drawn_figure_count: int
    screenshot_png: bytes
    inner_text: str
    figure_boxes: list[tuple[float, float, float, float]] = field(default_factory=list)
    evaluations: dict[str, Any] = field(default_factory=dict)


def chromium_executable() -> str | None:
    """Path of Chromium, or None when it is not installed."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None


class _Session:
    """One DevTools websocket: commands wait for their reply; events go to ``on_event`` meanwhile."""

    def __init__(self, url: str, on_event: Callable[[dict], None]):
        from websockets.sync.client import connect

        self._socket = connect(url, max_size=None, open_timeout=20, ping_interval=None)
        self._next_id = 0
        self.on_event = on_event

    def send(self, method: str, params: Mapping[str, Any] | None = None, *, session: str | None = None) -> int:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": dict(params or {})}
        if session:
            message["sessionId"] = session
        self._socket.send(json.dumps(message))
        return self._next_id

    def call(self, method: str, params: Mapping[str, Any] | None = None, *, session: str | None = None,
             timeout: float = 30.0) -> dict:
        """Send a command and return its result, handing every event that arrives before it to ``on_event``."""
        wanted = self.send(method, params, session=session)
        deadline = time.monotonic() + timeout
        while True:
            message = self.receive(deadline - time.monotonic())
            if message is None:
                raise BrowserError(f"No reply to {method} within {timeout:.0f} s")
            if message.get("id") == wanted:
                if "error" in message:
                    raise BrowserError(f"{method} failed: {message['error']}")
                return message.get("result", {})

    def receive(self, timeout: float) -> dict | None:
        """The next message (events dispatched first), or None when ``timeout`` passes without one."""
        if timeout <= 0:
            return None
        try:
            message = json.loads(self._socket.recv(timeout=timeout))
        except TimeoutError:
            return None
        if "method" in message:
            self.on_event(message)
        return message

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._socket.close()


class _Recorder:
    """Collects what a page does; dismisses dialogs so the page keeps running."""

    def __init__(self, page_url: str):
        self.page_url = page_url
        self.session: str | None = None
        self.send: Callable[..., int] | None = None
        self.console_errors: list[str] = []
        self.network_requests: list[str] = []
        self.dialogs: list[str] = []

    def __call__(self, message: dict) -> None:
        if self.session is None or message.get("sessionId") != self.session:
            return
        method, params = message["method"], message.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            self.console_errors.append(details.get("exception", {}).get("description") or details.get("text", ""))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.console_errors.append(" ".join(_remote_text(arg) for arg in params.get("args", [])))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            self.console_errors.append(f"{entry.get('source')}: {entry.get('text')} {entry.get('url', '')}".strip())
        elif method == "Network.requestWillBeSent":
            url = params.get("request", {}).get("url", "")
            if url.split("#")[0] != self.page_url and not url.startswith(("data:", "blob:")):
                self.network_requests.append(url)
        elif method == "Runtime.bindingCalled" and params.get("name") == _CSP_BINDING:
            violation = json.loads(params.get("payload", "{}"))
            self.console_errors.append(f"Content-Security-Policy blocked {violation.get('blocked')!r} "
                                       f"({violation.get('directive')})")
            if "://" in str(violation.get("blocked")) or str(violation.get("blocked")).startswith("http"):
                self.network_requests.append(str(violation["blocked"]))
        elif method == "Page.javascriptDialogOpening":
            self.dialogs.append(f"{params.get('type')}: {params.get('message')}")
            self.send("Page.handleJavaScriptDialog", {"accept": False}, session=self.session)


def _remote_text(arg: Mapping[str, Any]) -> str:
    value = arg.get("value", arg.get("description", arg.get("unserializableValue", arg.get("type", ""))))
    return value if isinstance(value, str) else json.dumps(value)


class Browser:
    """One headless Chromium for several pages; always stopped (its whole process group) on exit."""

    def __init__(self, executable: str | None = None, *, start_timeout: float = 60.0):
        self.executable = executable or chromium_executable()
        if self.executable is None:
            raise BrowserError(INSTALL_HINT)
        self._profile = tempfile.TemporaryDirectory(prefix="report-chromium-", ignore_cleanup_errors=True)
        self._log = open(Path(self._profile.name) / "chromium.log", "wb")  # a file: a full pipe would block it
        self._process = subprocess.Popen(
            [self.executable, *CHROMIUM_FLAGS, f"--user-data-dir={self._profile.name}/profile", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log, start_new_session=True)
        self._cdp: _Session | None = None
        try:
            self._cdp = _Session(self._devtools_url(start_timeout), self._dispatch)
        except BaseException:
            self.close()
            raise
        self._recorder: _Recorder | None = None

    def _devtools_url(self, timeout: float) -> str:
        """The browser's websocket URL, from the DevToolsActivePort file Chromium writes once it listens."""
        port_file = Path(self._profile.name) / "profile" / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise BrowserError(f"Chromium exited with {self._process.returncode}: {self._log_tail()}")
            with contextlib.suppress(OSError):
                lines = port_file.read_text().split()
                if len(lines) >= 2:
                    return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
            time.sleep(0.1)
        raise BrowserError(f"Chromium did not open its DevTools port within {timeout:.0f} s: {self._log_tail()}")

    def _log_tail(self) -> str:
        self._log.flush()
        return (Path(self._profile.name) / "chromium.log").read_text(errors="replace")[-2000:]

    def _dispatch(self, message: dict) -> None:
        if self._recorder is not None:
            self._recorder(message)

    def render_page(self, path: str | os.PathLike[str], *, figure_selector: str = FIGURE_SELECTOR,
                    timeout: float = 90.0, evaluate: Mapping[str, str] | None = None) -> PageResult:
        """Open ``path`` as a file:// URL, wait for its figures, and report what happened.

        Raises BrowserError when the page does not load within ``timeout`` seconds; figures not drawn by
        then are counted as not drawn (the test says which), not raised.
        """
        url = Path(path).resolve().as_uri()
        cdp = self._cdp
        target = cdp.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        recorder = self._recorder = _Recorder(url)
        try:
            recorder.session = cdp.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            recorder.send = cdp.send
            return self._open(recorder, url, figure_selector, time.monotonic() + timeout, evaluate or {})
        finally:
            self._recorder = None
            with contextlib.suppress(Exception):
                cdp.call("Target.closeTarget", {"targetId": target}, timeout=10)

    def _open(self, recorder: _Recorder, url: str, selector: str, deadline: float,
              evaluate: Mapping[str, str]) -> PageResult:
        call = self._page_call(recorder.session, deadline)
        for domain in ("Runtime", "Log", "Network", "Page"):
            call(f"{domain}.enable")
        call("Runtime.addBinding", {"name": _CSP_BINDING})
        call("Page.addScriptToEvaluateOnNewDocument", {"source": _CSP_LISTENER})
        # Offline: a request the page makes is still reported (requestWillBeSent) but never leaves the machine
        call("Network.emulateNetworkConditions", {"offline": True, "latency": 0, "downloadThroughput": -1,
                                                  "uploadThroughput": -1})
        call("Emulation.setDeviceMetricsOverride", {"width": VIEWPORT[0], "height": VIEWPORT[1],
                                                    "deviceScaleFactor": 1, "mobile": False})
        navigation = call("Page.navigate", {"url": url})
        if navigation.get("errorText"):
            raise BrowserError(f"Could not open {url}: {navigation['errorText']}")
        self._wait_for_load(call, url, deadline)
        figures = self._wait_for_figures(call, selector, deadline)
        call("Runtime.evaluate", {"expression": _SETTLE, "awaitPromise": True})
        figures = _value(call("Runtime.evaluate", {"expression": _COUNT_FIGURES % json.dumps(selector),
                                                   "returnByValue": True}))
        screenshot = self._screenshot(call)
        inner_text = _value(call("Runtime.evaluate", {"expression": "document.body.innerText",
                                                      "returnByValue": True}))
        evaluations = {name: _value(call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                              "awaitPromise": True}))
                       for name, expression in evaluate.items()}
        self._drain(0.3)  # late console messages of the last evaluations
        return PageResult(
            console_errors=list(recorder.console_errors), network_requests=list(recorder.network_requests),
            dialogs=list(recorder.dialogs), figure_count=figures["count"], drawn_figure_count=figures["drawn"],
            screenshot_png=screenshot, inner_text=inner_text or "",
            figure_boxes=[tuple(box) for box in figures["boxes"]], evaluations=evaluations)

    def _page_call(self, session: str, deadline: float) -> Callable[..., dict]:
        def call(method: str, params: Mapping[str, Any] | None = None) -> dict:
            return self._cdp.call(method, params, session=session, timeout=max(deadline - time.monotonic(), 1))
        return call

    def _wait_for_load(self, call: Callable[..., dict], url: str, deadline: float) -> None:
        """Poll until the document at ``url`` (not the about:blank before it) has loaded."""
        expression = f"location.href === {json.dumps(url)} && document.readyState === 'complete'"
        while not _value(call("Runtime.evaluate", {"expression": expression, "returnByValue": True})):
            if time.monotonic() > deadline:
                raise BrowserError(f"{url} did not finish loading in time")
            self._drain(0.1)

    def _wait_for_figures(self, call: Callable[..., dict], selector: str, deadline: float) -> dict:
        """Poll until every figure container holds a plot, or the deadline passes."""
        expression = _COUNT_FIGURES % json.dumps(selector)
        while True:
            figures = _value(call("Runtime.evaluate", {"expression": expression, "returnByValue": True}))
            if figures["drawn"] == figures["count"] or time.monotonic() > deadline - 5:
                return figures
            self._drain(0.2)

    def _drain(self, seconds: float) -> None:
        """Read (and so record) events for ``seconds``."""
        end = time.monotonic() + seconds
        while self._cdp.receive(end - time.monotonic()) is not None:
            pass

    @staticmethod
    def _screenshot(call: Callable[..., dict]) -> bytes:
        import base64

        size = call("Page.getLayoutMetrics")["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": max(size["width"], 1), "scale": 1,
                "height": min(max(size["height"], 1), MAX_SCREENSHOT_HEIGHT)}
        shot = call("Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": True})
        return base64.b64decode(shot["data"])

    def close(self) -> None:
        """Stop Chromium and its helpers (their process group), then delete the profile."""
        if getattr(self, "_cdp", None) is not None:
            with contextlib.suppress(Exception):
                self._cdp.send("Browser.close")
            self._cdp.close()
            self._cdp = None
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=5)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if self._process.poll() is not None:
                break
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signal.SIGKILL)  # helpers left behind by a main process that exited
        self._log.close()
        self._profile.cleanup()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _value(result: dict) -> Any:
    if "exceptionDetails" in result:
        raise BrowserError(f"Evaluation failed: {result['exceptionDetails']}")
    return result.get("result", {}).get("value")


def render_page(path: str | os.PathLike[str], **options: Any) -> PageResult:
    """Open ``path`` in a fresh headless Chromium (started and stopped here); see ``Browser.render_page``."""
    with Browser() as browser:
        return browser.render_page(path, **options)
