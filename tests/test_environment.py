"""The three dependency lists agree, and Binder would build from binder/ and open the learner's start page."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
START_PAGE = "learner/00_start_here.ipynb"      # the learner's edition, written by binder/postBuild
ANSWER_KEY_START = "notebooks/00_start_here.ipynb"
# Packages the book needs at run time (conda name -> pip name where they differ).
RUNTIME = {"torch", "numpy", "matplotlib", "jupyterlab", "ipywidgets", "ipykernel", "anywidget", "nbval", "pytest",
           "hypothesis"}
CONDA_TO_PIP = {"pytorch": "torch", "matplotlib-base": "matplotlib"}


def pip_pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    return pins


def conda_pins(path: Path) -> dict[str, str]:
    env = yaml.safe_load(path.read_text())
    pins = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for item in dep.get("pip", []):
                name, version = item.split("==")
                pins[name.lower()] = version
            continue
        parts = dep.split("=")
        name = CONDA_TO_PIP.get(parts[0], parts[0])
        if len(parts) > 1 and parts[1] and parts[1] != "*":
            pins[name] = parts[1]
    return pins


def test_requirements_pin_every_package_exactly():
    lines = [ln.strip() for ln in (ROOT / "requirements.txt").read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
    unpinned = [ln for ln in lines if "==" not in ln]
    assert not unpinned, f"requirements.txt must pin exact versions; unpinned: {unpinned}"
    assert pip_pins(ROOT / "requirements.txt")["torch"] == "2.13.0"


@pytest.mark.parametrize("env_file", ["environment.yml", "binder/environment.yml"])
def test_conda_environments_agree_with_pip_pins(env_file):
    pip = pip_pins(ROOT / "requirements.txt")
    conda = conda_pins(ROOT / env_file)
    missing = RUNTIME - set(conda)
    assert not missing, f"{env_file} does not pin {sorted(missing)}"
    disagree = {p: (conda[p], pip.get(p)) for p in RUNTIME if conda[p] != pip.get(p)}
    assert not disagree, f"{env_file} and requirements.txt disagree (conda, pip): {disagree}"


def test_binder_torch_is_cpu_only_without_mkl():
    text = (ROOT / "binder/environment.yml").read_text()
    assert re.search(r"^\s*- pytorch=2\.13\.0=cpu_generic\*", text, re.M), "pin the generic CPU build of pytorch"
    assert re.search(r"^\s*- libblas=\*=\*openblas", text, re.M), "pin OpenBLAS so MKL is not pulled in"
    assert "mkl" not in re.sub(r"#.*", "", text).lower().replace("libblas=*=*openblas", "")


def test_readme_binder_badge_opens_the_start_page():
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"https://mybinder\.org/v2/gh/[^)\s]+", readme)
    assert links, "README needs a Binder badge"
    assert all(f"urlpath=lab/tree/{START_PAGE}" in link.replace("%2F", "/") for link in links)
    assert (ROOT / ANSWER_KEY_START).exists()


def test_every_binder_link_opens_the_learners_edition():
    from selfattn.tools import links
    table = links.table("https://github.com/someone/selfattn", "main", None)
    urls = re.findall(r"https://mybinder\.org/[^)\s]+", table)
    chapters = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    assert len(urls) == len(chapters) and chapters
    for url, name in zip(urls, chapters):
        assert url.endswith(f"?urlpath=lab/tree/learner/{name}"), url


@pytest.mark.skipif(shutil.which("jupyter-repo2docker") is None and not (Path(sys.executable).parent / "jupyter-repo2docker").exists(),
                    reason="jupyter-repo2docker is not installed (pip install jupyter-repo2docker)")
def test_repo2docker_builds_from_binder_and_installs_the_package():
    exe = shutil.which("jupyter-repo2docker") or str(Path(sys.executable).parent / "jupyter-repo2docker")
    out = subprocess.run([exe, "--no-build", "--debug", str(ROOT)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    dockerfile = out.stdout + out.stderr
    # it reads binder/ (and ignores the root environment.yml)
    assert "binder/environment.yml" in dockerfile
    assert re.search(r'env update -p \$\{NB_PYTHON_PREFIX\} --file "binder/environment\.yml"', dockerfile)
    assert not re.search(r'--file "environment\.yml"', dockerfile)
    # postBuild runs, and it installs the package
    assert "RUN ./binder/postBuild" in dockerfile
    post = (ROOT / "binder/postBuild").read_text()
    assert post.splitlines()[0].startswith("#!") and "set -e" in post
    assert re.search(r"pip install .*-e \.", post)
    assert (ROOT / "binder/postBuild").stat().st_mode & 0o111, "postBuild must be executable"


def test_postbuild_writes_the_learners_edition_that_binder_opens(tmp_path):
    """postBuild's learner step, run here into a scratch folder: the start page the badge opens
    exists afterwards, with the exercises blank and the stored outputs kept."""
    post = (ROOT / "binder/postBuild").read_text()
    step = [ln for ln in post.splitlines() if "selfattn.tools.learner" in ln and not ln.lstrip().startswith("#")]
    assert step == ["python -m selfattn.tools.learner --init"], step
    out = tmp_path / "learner"
    run = subprocess.run([sys.executable, "-m", "selfattn.tools.learner", "--init", "--out", str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    start = out / Path(START_PAGE).name
    assert start.exists()
    import nbformat
    nb = nbformat.read(start, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert not any("SOLUTION" in c.source for c in code), "a solution marker survived"
    assert any(c.outputs for c in code), "the stored outputs must be kept"
    assert all(not c.outputs for c in code if ".check(" in c.source), "check outputs must be blank"
