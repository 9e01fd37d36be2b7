"""Refresh the JavaScript the static book serves itself (book/_static/vendor/), from the npm registry.

The static book never loads anything from a CDN: require.js, the Jupyter widgets HTML manager
(which renders saved widget state in a page without a kernel) and MathJax are copied from their
npm packages into the repository, so `make book` and the built site work with no network.
Only the files the site loads are kept. Run this only to change a version:

    python -m selfattn.tools.vendor_book_js
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENDOR = REPO / "book" / "_static" / "vendor"

PACKAGES = {"requirejs": "2.3.8", "@jupyter-widgets/html-manager": "1.0.15", "mathjax": "3.2.2"}

# (package-relative source, vendor-relative destination); a trailing / copies a folder's files
FILES = [
    ("requirejs/require.js", "requirejs/require.js"),
    ("@jupyter-widgets/html-manager/dist/embed-amd.js", "html-manager/embed-amd.js"),
    ("@jupyter-widgets/html-manager/dist/embed.js.LICENSE.txt", "html-manager/LICENSE.txt"),
    ("@jupyter-widgets/html-manager/dist/*.woff2", "html-manager/fonts/"),  # Font Awesome, for widget icons
    ("mathjax/LICENSE", "mathjax/LICENSE"),
    ("mathjax/es5/tex-chtml.js", "mathjax/tex-chtml.js"),
    ("mathjax/es5/output/chtml/fonts/woff-v2/", "mathjax/output/chtml/fonts/woff-v2/"),
] + [(f"mathjax/es5/input/tex/extensions/{name}.js", f"mathjax/input/tex/extensions/{name}.js")
     for name in ("boldsymbol", "cancel", "color", "bbox", "braket", "mathtools", "textmacros")]


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="selfattn-npm-") as tmp:
        Path(tmp, "package.json").write_text(json.dumps({"name": "selfattn-book-vendor", "private": True}))
        specs = [f"{name}@{version}" for name, version in PACKAGES.items()]
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", *specs], cwd=tmp, check=True)
        modules = Path(tmp, "node_modules")
        if VENDOR.exists():
            shutil.rmtree(VENDOR)
        for src, dest in FILES:
            s, d = modules / src, VENDOR / dest
            if src.endswith("/") or "*" in src:
                d.mkdir(parents=True, exist_ok=True)
                files = sorted(s.iterdir()) if src.endswith("/") else sorted(s.parent.glob(s.name))
                for f in files:
                    shutil.copy2(f, d / f.name)
            else:
                d.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(s, d)
    lines = ["# Vendored JavaScript for the static book", "",
             "Copied from the npm registry by `python -m selfattn.tools.vendor_book_js` (do not edit by hand).",
             "Served from the built site so that the book needs no CDN and works offline.", ""]
    lines += [f"- `{name}` {version}" for name, version in PACKAGES.items()]
    lines += ["", "Licenses: requirejs (MIT, header of require.js), @jupyter-widgets/html-manager (BSD-3-Clause, "
              "html-manager/LICENSE.txt lists bundled code), MathJax (Apache-2.0, mathjax/LICENSE).", ""]
    (VENDOR / "README.md").write_text("\n".join(lines))
    size = sum(f.stat().st_size for f in VENDOR.rglob("*") if f.is_file())
    print(f"vendored {len(FILES)} entries into {VENDOR.relative_to(REPO)} ({size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
