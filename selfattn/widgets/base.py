"""The one face every live widget of the book shows: values, a redraw, and a visible refusal.

A widget holds state and wires controls to the math and the figures; it computes nothing itself.
Every widget in `selfattn.widgets` derives from `BookWidget` and so has:

- `values()`: a dict of the numbers it shows right now (the next plain notebook cell prints
  `report()`, which is these values as text, so nbval checks them);
- `redraw()`: the single method that brings the view up to date with the state;
- `refuse(problem)`: shows why an input cannot be shown, at the top of the widget where the eye
  is, and marks the view as showing the last state that could be drawn (`refused` is then True);
- a one-line text form (`repr`), shown where the live view is not rendered (a cell that has not
  run, a reload without a kernel), which says what the widget is and to run its cell;
- a key guard (`KeyGuard`, an invisible anywidget `_build` adds last): navigation keys pressed on
  the widget's controls (arrows on a dropdown or toggle buttons, Home/End, Page Up/Down, Enter,
  Space) stop at the widget's root element instead of reaching JupyterLab, whose command mode
  would otherwise move to another cell. Shift+Enter and shortcuts with Ctrl/Alt/Meta still reach it.
  It also names slider handles for screen readers, makes scrolling parts keyboard-reachable, and
  lets End/Home reach a slider's current limits after its range changed (ipywidgets' own End
  stops at the old maximum).
"""
from __future__ import annotations

import html
from pathlib import Path

import anywidget
import ipywidgets as W
import traitlets

from ..book import fmt
from ..threads import on_one_thread

REFUSED_PREFIX = "Cannot show this"
STATIC = Path(__file__).resolve().parent / "static"
# nameSliders(root): the function from name_sliders.js, without its two header comment lines
NAME_SLIDERS_JS = (STATIC / "name_sliders.js").read_text(encoding="utf-8").split("\n", 2)[2]

_KEY_GUARD_HEAD = """
const KEYS = new Set(["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Home", "End", "PageUp", "PageDown", "Enter", " "]);
function guard(box) {
  if (box.dataset.saKeyGuard === "on") return;
  box.dataset.saKeyGuard = "on";
  box.addEventListener("keydown", (evt) => {
    if (!KEYS.has(evt.key) || evt.ctrlKey || evt.metaKey || evt.altKey) return;
    if (evt.key === "Enter" && evt.shiftKey) return;   // Shift+Enter still runs the cell
    evt.stopPropagation();                             // the control keeps its own default action
    const handle = evt.target.closest && evt.target.closest(".noUi-handle");
    if (handle && (evt.key === "Home" || evt.key === "End")) requestAnimationFrame(() => finishHomeEnd(handle, evt.key));
  });
}
function finishHomeEnd(handle, key) {
  // After a slider's max (or min) changed, ipywidgets' slider sends End (Home) to the old limit;
  // the arrow keys still go past it. Step the rest of the way with arrow keys (at most 64 steps).
  const now = Number(handle.getAttribute("aria-valuenow"));
  const end = Number(handle.getAttribute(key === "End" ? "aria-valuemax" : "aria-valuemin"));
  const lo = Number(handle.getAttribute("aria-valuemin")), hi = Number(handle.getAttribute("aria-valuemax"));
  if (!isFinite(now) || !isFinite(end) || now === end) return;
  const arrow = key === "End" ? "ArrowRight" : "ArrowLeft";
  for (let k = 0; k < 64; k++) {
    const before = Number(handle.getAttribute("aria-valuenow"));
    if (before === end || before < lo || before > hi) break;
    handle.dispatchEvent(new KeyboardEvent("keydown", { key: arrow, code: arrow, bubbles: true, cancelable: true }));
    if (Number(handle.getAttribute("aria-valuenow")) === before) break;   // no progress: stop
  }
}
"""
_KEY_GUARD_TAIL = """const FOCUSABLE = 'a[href], button, input, select, textarea, [tabindex]:not([tabindex="-1"])';
function focusableScrollers(box) {
  // a region that scrolls (a wide row of charts in a narrow window) must be reachable by keyboard,
  // or keyboard users cannot scroll it: give it a tab stop when nothing inside could take one
  box.querySelectorAll(".widget-box, .widget-hbox, .widget-vbox, .widget-output, .jupyter-widgets").forEach((r) => {
    const cs = getComputedStyle(r);
    const scrolls = (/(auto|scroll)/.test(cs.overflowX) && r.scrollWidth > r.clientWidth + 1)
      || (/(auto|scroll)/.test(cs.overflowY) && r.scrollHeight > r.clientHeight + 1);
    if (scrolls && !r.hasAttribute("tabindex") && !r.querySelector(FOCUSABLE)) {
      r.setAttribute("tabindex", "0");
      r.setAttribute("role", "region");
      r.setAttribute("aria-label", "scrollable part of the widget (arrow keys scroll it)");
    }
  });
}
function render({ el }) {
  let tries = 0;
  const attach = () => {
    const box = el.closest(".selfattn-widget");
    if (!box) { if (tries++ < 300) requestAnimationFrame(attach); return; }
    guard(box);
    const tidy = () => { nameSliders(box); focusableScrollers(box); };
    tidy();
    let queued = false;
    new MutationObserver(() => {
      if (queued) return;
      queued = true;
      requestAnimationFrame(() => { queued = false; tidy(); });
    }).observe(box, { childList: true, subtree: true });
    if (window.ResizeObserver) new ResizeObserver(() => requestAnimationFrame(tidy)).observe(box);
  };
  attach();
}
export default { render };
"""
_KEY_GUARD_ESM = _KEY_GUARD_HEAD + NAME_SLIDERS_JS + _KEY_GUARD_TAIL


class KeyGuard(anywidget.AnyWidget):
    """Invisible: keeps navigation keys pressed inside its BookWidget from reaching JupyterLab,
    names the widget's slider handles for screen readers (from each slider's label), and gives a
    tab stop to any part of the widget that scrolls and has nothing focusable inside."""

    _esm = _KEY_GUARD_ESM
    guarded = traitlets.Unicode(".selfattn-widget").tag(sync=True)

    def __repr__(self) -> str:
        return "KeyGuard()"


class BookWidget(W.VBox):
    """Base of every widget in the book. Subclasses build their controls, then call `_build`."""

    #: what the widget is, in a few words, for its one-line text form (subclasses set it)
    kind = "live widget"

    def _build(self, children) -> None:
        """Lay the widget out: the refusal line first (hidden while empty), then the children."""
        self.message = W.HTML(layout=W.Layout(display="none"))
        self.message.add_class("selfattn-refusal")
        self.refused = False
        self.key_guard = KeyGuard(layout=W.Layout(display="none"))
        super().__init__(children=[self.message, *children, self.key_guard])
        self.add_class("selfattn-widget")

    # --- the common face -------------------------------------------------------------------------

    def values(self) -> dict:
        """The numbers the widget shows right now (rounded for printing). Subclasses override."""
        raise NotImplementedError

    def redraw(self) -> None:
        """Bring every view of the widget up to date with its state. Subclasses override."""
        raise NotImplementedError

    def refuse(self, problem: str) -> bool:
        """Show why an input cannot be drawn, at the top of the widget; always returns False.

        The rest of the widget keeps the last state that could be drawn, dimmed, so the reader
        never sees a new input beside an old picture without being told.
        """
        self.message.value = (f'<div role="alert"><b>{REFUSED_PREFIX}:</b> {html.escape(str(problem))} '
                              "<i>(the view below still shows the last input that could be drawn)</i></div>")
        self.message.layout.display = None
        self.refused = True
        self.add_class("selfattn-stale")
        return False

    def accept(self) -> None:
        """Clear a refusal: the input was good and the view now shows it."""
        self.message.value = ""
        self.message.layout.display = "none"
        self.refused = False
        self.remove_class("selfattn-stale")

    def refusal(self) -> str:
        """The refusal message as plain text ('' when none is shown)."""
        if not self.refused:
            return ""
        text = self.message.value
        for tag in ("<b>", "</b>", "<i>", "</i>", '<div role="alert">', "</div>"):
            text = text.replace(tag, "")
        return html.unescape(text).strip()

    def report(self) -> str:
        """The values the widget shows, one per line, as text for a plain cell that nbval checks."""
        lines = [f"{key}: {_as_text(value)}" for key, value in self.values().items()]
        if self.refused:
            lines.append("refused: " + self.refusal())
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"{type(self).__name__}: {self.kind} (run this cell in Jupyter to see and operate it)"


def _as_text(value) -> str:
    if hasattr(value, "shape") and getattr(value, "ndim", 0) >= 1:
        return "\n" + fmt(value)
    if isinstance(value, float):
        return fmt(value)
    return str(value)


__all__ = ["BookWidget", "KeyGuard", "REFUSED_PREFIX", "on_one_thread"]
