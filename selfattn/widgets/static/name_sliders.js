// Shared by the KeyGuard anywidget (selfattn/widgets/base.py, live in Jupyter) and the static
// book (book/_static/widgets-static.js, which build_book serves this file beside).
function nameSliders(box) {
  // ipywidgets' slider handles (noUiSlider, role="slider") carry no accessible name: give each
  // the text of its slider's label, so a screen reader says what the slider sets
  box.querySelectorAll(".widget-slider, .jupyter-widget-slider").forEach((s) => {
    const label = s.querySelector(".widget-label");
    const text = label ? label.textContent.trim() : "";
    if (!text) return;
    s.querySelectorAll('[role="slider"], .noUi-handle').forEach((h) => {
      if (h.getAttribute("aria-label") !== text) h.setAttribute("aria-label", text);
    });
  });
}
