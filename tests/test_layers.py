"""The math knows no screen: importing the math modules must not import plotting or widget code."""
import pkgutil
import subprocess
import sys

import selfattn

SCREEN = ("matplotlib", "ipywidgets", "anywidget")
NOT_MATH = {"viz", "widgets", "book", "tools", "exercises", "bench", "selfcheck"}


def math_modules():
    names = []
    for info in pkgutil.walk_packages(selfattn.__path__, "selfattn."):
        top = info.name.split(".")[1]
        if top not in NOT_MATH:
            names.append(info.name)
    return names


def test_math_modules_import_no_screen_library():
    mods = math_modules()
    assert "selfattn.attention" in mods and "selfattn.masks" in mods
    code = ("import sys\n" + "".join(f"import {m}\n" for m in mods) +
            f"bad = [m for m in {SCREEN!r} if m in sys.modules]\nprint(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"math modules pulled in {out}; move drawing code to selfattn.viz or selfattn.widgets"

