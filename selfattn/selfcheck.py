"""The environment self-check of the Start here chapter: is everything the book needs working?

Each check returns a row (what, ok, detail). A failed check says what to do about it.
"""
from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from pathlib import Path

REQUIRED = ("numpy", "torch", "matplotlib", "ipywidgets", "anywidget", "jupyterlab")   # what a reader needs


@dataclass(frozen=True)
class Check:
    what: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Report:
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def table(self) -> str:
        width = max(len(c.what) for c in self.checks)
        lines = [f"{'✔' if c.ok else '✘'} {c.what:<{width}}  {c.detail}" for c in self.checks]
        return "\n".join(lines)

    def verdict(self) -> str:
        if self.ok:
            return f"All {len(self.checks)} checks passed: the book is ready to use."
        items = "\n".join(f"  - {c.what}: {c.detail}" for c in self.failures)
        return f"{len(self.failures)} of {len(self.checks)} checks failed:\n{items}"


def _python() -> Check:
    ok = sys.version_info >= (3, 11)
    return Check("Python >= 3.11", ok, sys.version.split()[0] if ok else
                 f"found {sys.version.split()[0]}; create the environment with Python 3.11 (see README)")


def _package(name: str) -> Check:
    try:
        mod = importlib.import_module(name)
    except Exception as e:  # report any import failure, not only ImportError
        return Check(f"import {name}", False, f"{type(e).__name__}: {e}. Run `make setup` (or `pip install -r requirements.txt`)")
    return Check(f"import {name}", True, getattr(mod, "__version__", "installed"))


def _torch_cpu() -> Check:
    try:
        import torch
    except Exception as e:
        return Check("torch computes on the CPU", False, f"torch did not import: {e}")
    x = torch.arange(6.0).reshape(2, 3)
    ok = float((x @ x.T).sum()) == 83.0
    return Check("torch computes on the CPU", ok, "2×3 matmul correct" if ok else "a tiny matmul gave a wrong result")


def _attention_matches_torch() -> Check:
    try:
        import torch
        import torch.nn.functional as F

        from .attention import attention
    except Exception as e:
        return Check("selfattn.attention matches torch", False, f"import failed: {e}. Is the package installed (`pip install -e .`)?")
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(1, 2, 5, 4, generator=g) for _ in range(3))
    err = (attention(q, k, v, causal=True).output - F.scaled_dot_product_attention(q, k, v, is_causal=True)).abs().max()
    ok = float(err) < 1e-5
    return Check("selfattn.attention matches torch", ok, "agrees with F.scaled_dot_product_attention" if ok
                 else f"differs by {float(err):.2e}; reinstall the package")


def _widgets_frontend() -> Check:
    try:
        import jupyterlab_widgets  # noqa: F401  (the JupyterLab side of ipywidgets)
    except Exception:
        return Check("widget support in JupyterLab", False,
                     "jupyterlab_widgets is missing: sliders will not show. `pip install ipywidgets` in the Jupyter environment")
    return Check("widget support in JupyterLab", True, "jupyterlab_widgets installed")


def _notebooks() -> Check:
    here = Path(__file__).resolve().parent.parent / "notebooks"
    found = sorted(p.name for p in here.glob("[0-9][0-9]_*.ipynb")) if here.exists() else []
    ok = bool(found)
    return Check("chapters found", ok, f"{len(found)} chapters" if ok else "notebooks/ not found next to the package")


def run() -> Report:
    """Run every check and return the report (nothing raises)."""
    checks = [_python()] + [_package(n) for n in REQUIRED] + [_torch_cpu(), _attention_matches_torch(),
                                                              _widgets_frontend(), _notebooks()]
    return Report(tuple(checks))
