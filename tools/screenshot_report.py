#!/usr/bin/env python3
"""Render a run's report.html in headless Chromium, save a full-page screenshot, and check that every plot
is on the page.

    python tools/screenshot_report.py RUN_DIR [--out RUN_DIR/report_screenshot.png] [--chromium /usr/bin/chromium]

Needs Chromium (Debian: ``apt-get install -y chromium``) and Pillow. Checks, for every ``<img class="plot">``
of the report:

1. its data URI holds a PNG (decoded here);
2. the browser loaded and laid it out (its natural size equals the PNG's, its box on the page is not empty),
   read back from the DOM after the load event (Chromium's ``--dump-dom``);
3. the screenshot shows it: the pixels of its box are not blank and match the embedded PNG scaled to that
   box (correlation above 0.9).

Exits 0 when every check passes, 1 otherwise (naming what failed).
"""
from __future__ import annotations

import argparse
import base64
import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--force-device-scale-factor=1", "--disable-dev-shm-usage"]
WIDTH = 1280

# after the load event, write each image's natural size and box (CSS px) into the DOM, and the page's height
PROBE = """<script>
window.addEventListener("load", function () {
  document.querySelectorAll("img").forEach(function (im) {
    var r = im.getBoundingClientRect();
    im.setAttribute("data-probe", JSON.stringify({complete: im.complete, nw: im.naturalWidth, nh: im.naturalHeight,
      x: r.left + window.scrollX, y: r.top + window.scrollY, w: r.width, h: r.height}));
  });
  document.documentElement.setAttribute("data-page-height", String(document.documentElement.scrollHeight));
});
</script>"""


class _Imgs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.imgs: list[dict] = []
        self.page_height: int | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "img":
            self.imgs.append(a)
        elif tag == "html" and "data-page-height" in a:
            self.page_height = int(float(a["data-page-height"]))


def parse(html: str) -> _Imgs:
    p = _Imgs()
    p.feed(html)
    return p


def chromium(binary: str, args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    with tempfile.TemporaryDirectory(prefix="lucidnet-chromium-") as profile:
        return subprocess.run([binary, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                              timeout=timeout, text=True)


def png_from_data_uri(src: str):
    from PIL import Image

    m = re.match(r"data:image/png;base64,(.*)$", src or "", re.S)
    if not m:
        raise ValueError("not a base64 PNG data URI")
    raw = base64.b64decode(m.group(1), validate=True)
    if not raw.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError("the data URI does not hold a PNG")
    return Image.open(io.BytesIO(raw)).convert("RGB")


def correlation(a, b) -> float:
    import numpy as np

    x = np.asarray(a, dtype=np.float64).ravel()
    y = np.asarray(b, dtype=np.float64).ravel()
    x, y = x - x.mean(), y - y.mean()
    d = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / d) if d > 0 else 0.0


def check(report: Path, out: Path, binary: str, width: int = WIDTH) -> list[str]:
    """Screenshot ``report`` into ``out``; returns the failures (empty: all good)."""
    import numpy as np
    from PIL import Image

    html = report.read_text(encoding="utf-8")
    plots = [a for a in parse(html).imgs if "plot" in (a.get("class") or "").split()]
    if not plots:
        return [f"{report}: no <img class=\"plot\"> on the page"]
    failures = []
    sources = {}
    for a in plots:
        try:
            sources[a["id"]] = png_from_data_uri(a.get("src", ""))
        except ValueError as e:
            failures.append(f"{a.get('id')}: {e}")

    with tempfile.TemporaryDirectory(prefix="lucidnet-report-") as tmp:
        probe = Path(tmp) / "probe.html"
        probe.write_text(html.replace("</body>", PROBE + "</body>", 1), encoding="utf-8")
        res = chromium(binary, [f"--window-size={width},1000", "--dump-dom", probe.as_uri()])
        if res.returncode != 0 or "<html" not in res.stdout:
            return failures + [f"chromium --dump-dom failed (exit {res.returncode}): {res.stderr[-2000:]}"]
        dom = parse(res.stdout)
        probes = {a.get("id"): json.loads(a["data-probe"]) for a in dom.imgs if "data-probe" in a}
        height = min(dom.page_height or 4000, 16000)
        shot = Path(tmp) / "shot.png"
        res = chromium(binary, [f"--window-size={width},{height}", f"--screenshot={shot}", report.resolve().as_uri()])
        if res.returncode != 0 or not shot.is_file():
            return failures + [f"chromium --screenshot failed (exit {res.returncode}): {res.stderr[-2000:]}"]
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, out)
    page = Image.open(out).convert("RGB")

    for a in plots:
        pid, src = a.get("id"), sources.get(a.get("id"))
        p = probes.get(pid)
        if p is None:
            failures.append(f"{pid}: not found in the rendered DOM")
            continue
        if not p["complete"] or p["nw"] == 0:
            failures.append(f"{pid}: the browser did not load the image")
            continue
        if src is not None and (p["nw"], p["nh"]) != src.size:
            failures.append(f"{pid}: loaded as {p['nw']}x{p['nh']}, the PNG is {src.size[0]}x{src.size[1]}")
        box = tuple(int(round(v)) for v in (p["x"], p["y"], p["x"] + p["w"], p["y"] + p["h"]))
        if p["w"] < 50 or p["h"] < 50 or box[3] > page.size[1]:
            failures.append(f"{pid}: its box {box} is empty or outside the screenshot {page.size}")
            continue
        region = np.asarray(page.crop(box).convert("L"), dtype=np.float64)
        if region.std() < 5:
            failures.append(f"{pid}: the screenshot is blank where the plot should be (pixel std {region.std():.1f})")
            continue
        if src is not None:
            expected = np.asarray(src.convert("L").resize(page.crop(box).size, Image.BILINEAR), dtype=np.float64)
            r = correlation(region, expected)
            if r < 0.9:
                failures.append(f"{pid}: the screenshot does not show the plot (correlation {r:.2f} with the PNG)")
                continue
            print(f"ok  {pid}: {src.size[0]}x{src.size[1]} PNG, shown at {p['w']:.0f}x{p['h']:.0f} px, "
                  f"correlation {r:.3f}")
    return failures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run_dir", help="a run directory with report.html (or the report file itself)")
    ap.add_argument("--out", default=None, help="screenshot path (default: RUN_DIR/report_screenshot.png)")
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    ap.add_argument("--width", type=int, default=WIDTH)
    args = ap.parse_args(argv)
    path = Path(args.run_dir)
    report = path if path.is_file() else path / "report.html"
    if not report.is_file():
        print(f"no report at {report}", file=sys.stderr)
        return 1
    if not Path(args.chromium).exists():
        print(f"chromium not found at {args.chromium} (Debian: apt-get install -y chromium)", file=sys.stderr)
        return 1
    out = Path(args.out) if args.out else report.parent / "report_screenshot.png"
    failures = check(report, out, args.chromium, args.width)
    for f in failures:
        print(f"FAIL {f}")
    print(f"screenshot: {out}")
    print("all plots are on the page" if not failures else f"{len(failures)} check(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
