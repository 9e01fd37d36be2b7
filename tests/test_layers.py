"""The package's layers, as an allow-list: each layer imports only what CONTRIBUTING says it may.

| layer | modules | may import (inside selfattn) | may import (outside) |
| math | attention, masks, multihead, positions, patches, embeddings, decoding, errors, limits,
  threads, efficient/, explore/ | math | numpy, torch (and safetensors, the shipped weights' format) |
| figures | viz/ | math, viz | + matplotlib |
| widgets | widgets/ | math, viz, widgets, book | + ipywidgets, anywidget, traitlets, IPython |
| exercises | exercises/ | math, exercises | numpy, torch |
| notebook support | book, selfcheck, tools/ | anything in the package | anything |

The standard library is allowed everywhere. Nothing in the package imports the notebooks or tests.
"""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "selfattn"

MATH_TOP = {"attention", "masks", "multihead", "positions", "patches", "embeddings", "decoding", "errors",
            "limits", "threads", "efficient", "explore"}
SUPPORT_TOP = {"book", "selfcheck", "tools", "__init__"}
ARRAYS = {"numpy", "torch"}
WEIGHTS = {"safetensors"}       # the file format of the shipped trained weights (read and written by the math)
SCREEN = {"matplotlib", "ipywidgets", "anywidget", "traitlets", "IPython"}

# layer -> (layers it may import inside selfattn, third-party top-level packages it may import)
ALLOWED = {
    "math": ({"math"}, ARRAYS | WEIGHTS),
    "viz": ({"math", "viz"}, ARRAYS | {"matplotlib"}),
    "widgets": ({"math", "viz", "widgets", "book"}, ARRAYS | SCREEN),
    "exercises": ({"math", "exercises"}, ARRAYS),
}

# Each chapter's topic: its computations, figures and exercises live under this one name.
TOPICS = {0: "intro", 1: "paths", 2: "projections", 3: "pipeline", 4: "positions", 5: "masks", 6: "heads",
          7: "learned", 8: "cost", 9: "efficient", 10: "gpt", 11: "encoder_decoder"}


def layer_of(module: str) -> str:
    """'selfattn.viz.masks' -> 'viz'; 'selfattn.efficient.linear' -> 'math'."""
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    if top in MATH_TOP:
        return "math"
    if top in ALLOWED:
        return top
    if top in SUPPORT_TOP:
        return "support"
    raise AssertionError(f"{module}: not in any layer; add it to CONTRIBUTING's table and to this test")


def modules():
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        yield ".".join(parts), path


def imports_of(module: str, path: Path):
    """Every module an import statement in the file names, made absolute."""
    tree = ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            if node.module is None or node.level and not node.module:
                for alias in node.names:           # from . import x  -> package.x
                    yield f"{target}.{alias.name}"
            else:
                yield target


def violations():
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    found = []
    for module, path in modules():
        layer = layer_of(module)
        if layer == "support" or module == "selfattn":
            continue
        inside, outside = ALLOWED[layer]
        for name in imports_of(module, path):
            top = name.split(".")[0]
            if top == "selfattn":
                other = "support" if name == "selfattn" else layer_of(name)
                if other == "support" and name.split(".")[1:2] == ["book"]:
                    other = "book"           # notebook set-up and printing: the one support module widgets use
                if other not in inside:
                    found.append(f"{module} ({layer}) imports {name} ({other})")
            elif top in ("notebooks", "tests", "benchmarks"):
                found.append(f"{module} imports {name}: the package never imports notebooks, tests or benchmarks")
            elif top not in stdlib and top not in outside:
                found.append(f"{module} ({layer}) imports {top}, which that layer may not use")
    return found


def test_every_module_belongs_to_a_layer():
    for module, _ in modules():
        layer_of(module)


def test_layers_import_only_what_they_may():
    bad = violations()
    assert not bad, "layer rule broken (see docs/CONTRIBUTING.md, 'Where code lives'):\n" + "\n".join(bad)


def test_the_rule_can_fail():
    """The checker itself sees a forbidden import (so a clean result means something)."""
    inside, outside = ALLOWED["math"]
    assert "viz" not in inside and "matplotlib" not in outside
    assert layer_of("selfattn.explore.masks") == "math" and layer_of("selfattn.viz.masks") == "viz"
    fake = PKG / "explore" / "_layer_probe_tmp.py"
    fake.write_text("import matplotlib\nfrom ..viz import style\n")
    try:
        bad = [v for v in violations() if "_layer_probe_tmp" in v]
    finally:
        fake.unlink()
    assert len(bad) == 2, bad


def test_math_modules_import_no_screen_library_at_run_time():
    """Importing every math module does not pull in a plotting or widget library (transitively)."""
    math_mods = [m for m, _ in modules() if m != "selfattn" and layer_of(m) == "math"]
    assert "selfattn.attention" in math_mods and "selfattn.masks" in math_mods
    code = ("import sys\n" + "".join(f"import {m}\n" for m in math_mods) +
            f"bad = [m for m in {sorted(SCREEN)!r} if m in sys.modules]\nprint(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"math modules pulled in {out}; move drawing code to selfattn.viz or selfattn.widgets"


@pytest.mark.parametrize("chapter", sorted(TOPICS))
def test_every_chapter_topic_has_its_modules(chapter):
    topic = TOPICS[chapter]
    notebooks = sorted((ROOT / "notebooks").glob(f"{chapter:02d}_*.ipynb"))
    if not notebooks:
        pytest.skip(f"chapter {chapter} has no notebook yet")
    explore = PKG / "explore" / f"{topic}.py"
    explore_pkg = PKG / "explore" / topic / "__init__.py"
    assert explore.exists() or explore_pkg.exists(), f"chapter {chapter}: no selfattn/explore/{topic}(.py or /)"
    assert (PKG / "viz" / f"{topic}.py").exists(), f"chapter {chapter}: no selfattn/viz/{topic}.py"
    assert (PKG / "exercises" / f"ch{chapter:02d}.py").exists(), f"chapter {chapter}: no exercises/ch{chapter:02d}.py"
    widgets = PKG / "widgets" / f"{topic}.py"
    assert widgets.exists(), f"chapter {chapter}: no selfattn/widgets/{topic}.py"
