"""Screenshots of the MLflow UI showing families side by side on shared keys.

    python benchmarks/mlflow_ui_screenshots.py [--project .] [--out docs/img]
        [--group adversarial] [--compare vae gan]

Starts `mlflow ui` (127.0.0.1, a free port) on the project's `mlflow.db`,
finds the runs through its REST API, and drives headless Chromium through the
DevTools protocol to screenshot (1) the experiment's chart view filtered to
one group (`tags.group = '<group>'`, the charts searched for `fid`): one `fid`
chart with a bar per family; and (2) the compare view of two families' runs,
whose metric rows (`fid`, `kid`, `precision`, ...) line up. Stops the server
and the browser afterwards.

Needs Debian's `chromium` (`apt-get install chromium`) and `websocket-client`
(the dev extra); without them the script says so and exits 0.
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).parents[1]
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync",
                  "--window-size=1600,1000"]
# React reads an input's value through the native setter and an `input` event.
TYPE_INTO = """(() => {{ const i = document.querySelector('{selector}');
  if (!i) return false;
  Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')
    .set.call(i, '{text}');
  i.dispatchEvent(new Event('input', {{bubbles: true}})); return true; }})()"""
CLICK_ALL = """(() => {{ const found = document.querySelectorAll('{selector}');
  found.forEach(e => e.click()); return found.length; }})()"""
# The compare page's sections: collapsible headers named by their text.
COLLAPSE = """(() => {{ const names = {names};
  const found = Array.from(document.querySelectorAll('[class*="collapse-header"]'))
    .filter(e => names.includes(e.textContent.trim()));
  found.forEach(e => e.click()); return found.length; }})()"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _api(base: str, path: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{base}/api/2.0/mlflow/{path}", data=data,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def _wait(url: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(1)
    raise TimeoutError(f"{url} did not answer in {seconds:.0f} s")


class Browser:
    """Headless Chromium driven through the DevTools protocol: navigate, run
    a line of JavaScript (a click, a search), take a screenshot."""

    def __init__(self, chromium: str, profile: Path):
        import websocket

        port = _free_port()
        self._process = subprocess.Popen(
            [chromium, *CHROMIUM_FLAGS, f"--remote-debugging-port={port}",
             f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait(f"http://127.0.0.1:{port}/json/version", 60)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json") as response:
            page = next(t for t in json.load(response) if t["type"] == "page")
        self._socket = websocket.create_connection(page["webSocketDebuggerUrl"],
                                                   timeout=120)
        self._id = 0

    def call(self, method: str, **params) -> dict:
        self._id += 1
        self._socket.send(json.dumps({"id": self._id, "method": method,
                                      "params": params}))
        while True:
            message = json.loads(self._socket.recv())
            if message.get("id") == self._id:
                return message.get("result", {})

    def run(self, script: str):
        result = self.call("Runtime.evaluate", expression=script, returnByValue=True)
        return result.get("result", {}).get("value")

    def open(self, url: str, settle: float = 10) -> None:
        self.call("Page.navigate", url=url)
        time.sleep(settle)  # the UI renders on the client, from its REST calls

    def screenshot(self, path: Path) -> None:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        self._socket.close()
        self._process.terminate()
        self._process.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=ROOT)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    parser.add_argument("--group", default="adversarial")
    parser.add_argument("--compare", nargs=2, default=["vae", "gan"])
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None or importlib.util.find_spec("websocket") is None:
        print("needs chromium (apt-get install chromium) and websocket-client "
              "(the dev extra): no screenshots taken")
        return 0
    store = args.project.resolve() / "mlflow.db"
    if not store.is_file():
        print(f"{store} does not exist: run `kedro run` first", file=sys.stderr)
        return 1
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("mlflow")), "ui", "--backend-store-uri",
         f"sqlite:///{store}", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait(f"{base}/health")
        experiment = _api(base, "experiments/get-by-name?experiment_name=genpipe")
        experiment_id = experiment["experiment"]["experiment_id"]
        runs = _api(base, "runs/search", {
            "experiment_ids": [experiment_id], "max_results": 1000,
            "order_by": ["attributes.start_time DESC"]})["runs"]
        by_name = {}
        for run in runs:  # the newest run of each name
            by_name.setdefault(run["info"]["run_name"], run["info"]["run_id"])
        args.out.mkdir(parents=True, exist_ok=True)
        profile = Path(tempfile.mkdtemp(prefix="chromium-"))
        browser = Browser(chromium, profile)
        try:
            # MLflow 3.17 opens every experiment in its GenAI mode unless the
            # URL asks for model training (`workflowType`).
            query = urllib.parse.urlencode({
                "searchFilter": f"tags.group = '{args.group}'",
                "compareRunsMode": "CHART", "workflowType": "machine_learning"},
                quote_via=urllib.parse.quote)
            browser.open(f"{base}/#/experiments/{experiment_id}/runs?{query}")
            browser.run(CLICK_ALL.format(selector='button[aria-label="Close"]'))
            # the children are listed under their (collapsed) parent run
            browser.run(CLICK_ALL.format(
                selector='button[data-component-id*="runnamecellrenderer"]'))
            time.sleep(3)
            browser.run(TYPE_INTO.format(
                selector='input[placeholder="Search metric charts"]', text="fid"))
            time.sleep(8)
            chart = args.out / f"mlflow_chart_{args.group}.png"
            browser.screenshot(chart)
            ids = [by_name[name] for name in args.compare]
            compare = urllib.parse.urlencode({
                "runs": json.dumps(ids), "experiments": json.dumps([experiment_id]),
                "workflowType": "machine_learning"}, quote_via=urllib.parse.quote)
            browser.open(f"{base}/#/compare-runs?{compare}")
            browser.run(CLICK_ALL.format(selector='button[aria-label="Close"]'))
            # fold what stands above the metrics table
            browser.run(COLLAPSE.format(names=json.dumps(
                ["Visualizations", "Run details", "Parameters"])))
            time.sleep(3)
            pair = args.out / f"mlflow_compare_{'_'.join(args.compare)}.png"
            browser.screenshot(pair)
        finally:
            browser.close()
            shutil.rmtree(profile, ignore_errors=True)
        print(f"wrote {chart} and {pair}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
