"""Screenshots of the MLflow UI showing families side by side on shared keys.

    python benchmarks/mlflow_ui_screenshots.py [--project .] [--out docs/img]
        [--group adversarial] [--compare vae gan]

Starts `mlflow ui` (127.0.0.1, a free port) on the project's `mlflow.db`,
finds the runs through its REST API, and takes headless-Chromium screenshots
of (1) the experiment's chart view filtered to one group
(`tags.group = '<group>'`): one `fid` chart with a bar per family; and
(2) the compare view of two families' runs, whose metric rows (`fid`, `kid`,
`precision`, ...) line up. Stops the server afterwards.

Needs Debian's `chromium` (`apt-get install chromium`); without it the script
says so and exits 0 without screenshots.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).parents[1]
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync",
                  "--window-size=1600,1000", "--virtual-time-budget=20000"]


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


def _wait(base: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2):
                return
        except OSError:
            time.sleep(1)
    raise TimeoutError(f"mlflow ui did not answer {base}/health in {seconds:.0f} s")


def _shoot(chromium: str, url: str, out: Path, profile: Path) -> None:
    subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                    f"--screenshot={out}", url], check=True, capture_output=True,
                   timeout=180)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", type=Path, default=ROOT)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    parser.add_argument("--group", default="adversarial")
    parser.add_argument("--compare", nargs=2, default=["vae", "gan"])
    args = parser.parse_args()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("chromium is not installed (apt-get install chromium): "
              "no screenshots taken")
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
        _wait(base)
        experiment = _api(base, "experiments/get-by-name?experiment_name=genpipe")
        experiment_id = experiment["experiment"]["experiment_id"]
        runs = _api(base, "runs/search", {
            "experiment_ids": [experiment_id], "max_results": 1000,
            "order_by": ["attributes.start_time DESC"]})["runs"]
        by_name = {}
        for run in runs:  # the newest run of each name
            by_name.setdefault(run["info"]["run_name"], run["info"]["run_id"])
        args.out.mkdir(parents=True, exist_ok=True)
        profile = args.out / ".chromium-profile"
        query = urllib.parse.urlencode({
            "searchFilter": f"tags.group = '{args.group}'",
            "compareRunsMode": "CHART"}, quote_via=urllib.parse.quote)
        chart = args.out / f"mlflow_chart_{args.group}.png"
        _shoot(chromium, f"{base}/#/experiments/{experiment_id}?{query}", chart,
               profile)
        ids = [by_name[name] for name in args.compare]
        compare = urllib.parse.urlencode({
            "runs": json.dumps(ids), "experiments": json.dumps([experiment_id])},
            quote_via=urllib.parse.quote)
        pair = args.out / f"mlflow_compare_{'_'.join(args.compare)}.png"
        _shoot(chromium, f"{base}/#/compare-runs?{compare}", pair, profile)
        shutil.rmtree(profile, ignore_errors=True)
        print(f"wrote {chart} and {pair}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
