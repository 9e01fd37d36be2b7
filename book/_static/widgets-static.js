// Widgets in the static book, rendered from saved state without a kernel and without a CDN.
//
// 1. MathJax: the Jupyter widgets HTML manager typesets widget labels through MathJax 2's
//    MathJax.Hub.Queue; the book loads MathJax 3, which has no Hub. A small Hub that calls
//    MathJax 3's typesetPromise is attached whenever window.MathJax is (re)assigned.
(function () {
  "use strict";
  const hub = {
    Queue: function (command) {
      const el = Array.isArray(command) ? command[2] : null;
      const mj = window.__selfattnMathJax;
      if (el && mj && typeof mj.typesetPromise === "function") mj.typesetPromise([el]).catch(() => {});
    },
  };
  let current = window.MathJax;
  const attach = (value) => {
    if (value && typeof value === "object" && !value.Hub) {
      try { value.Hub = hub; } catch (e) { /* a frozen object: leave it */ }
    }
    return value;
  };
  Object.defineProperty(window, "MathJax", {
    configurable: true,
    get() { return current; },
    set(value) { current = attach(value); window.__selfattnMathJax = value; },
  });
  window.__selfattnMathJax = current;
  if (current === undefined) current = attach({});  // a widget may render before MathJax loads
})();

// 2. Icon fonts: the widget manager's stylesheets ask for Font Awesome files next to the URL
//    require.js gives its modules (by default "<page folder>/@jupyter-widgets/..."). Point those
//    module URLs at the vendored fonts, so every page finds them whatever its folder.
(function () {
  "use strict";
  const root = document.documentElement.dataset.content_root
    || (window.DOCUMENTATION_OPTIONS && window.DOCUMENTATION_OPTIONS.URL_ROOT) || "./";
  const fonts = root + "_static/vendor/html-manager/fonts";
  require.config({ paths: { "@jupyter-widgets/html-manager/dist": fonts, "@jupyter-widgets": fonts } });
})();

// 3. anywidget: the HTML manager asks require.js for the module named in the widget state
// ("anywidget"); this local module answers, so nothing is fetched from a CDN. Each widget's
// front-end code is in its saved state (_esm), so it is imported from a blob: URL and its
// render() gets a read-only model: hover and drawing work, changes are not sent anywhere.
define("anywidget", ["@jupyter-widgets/base"], function (base) {
  "use strict";

  class AnyModel extends base.DOMWidgetModel {}

  const modules = new Map();  // one import per distinct _esm source
  function loadEsm(source) {
    if (!modules.has(source)) {
      const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
      modules.set(source, import(url).finally(() => URL.revokeObjectURL(url)));
    }
    return modules.get(source);
  }

  class AnyView extends base.DOMWidgetView {
    render() {
      const model = this.model;
      const proxy = {
        get: (name) => model.get(name),
        set: (name, value) => model.set(name, value),
        save_changes: () => {},
        send: () => {},
        on: (name, callback) => model.on(name, callback, this),
        off: (name, callback) => model.off(name, callback, this),
        widget_manager: model.widget_manager,
      };
      const css = model.get("_css");
      if (css) {
        const style = document.createElement("style");
        style.textContent = css;
        this.el.appendChild(style);
      }
      this.el.classList.add("selfattn-static-widget");
      return loadEsm(model.get("_esm") || "export default {}").then(async (mod) => {
        let widget = mod.default !== undefined ? mod.default : mod;
        if (typeof widget === "function") widget = await widget();
        if (widget.initialize) await widget.initialize({ model: proxy });
        if (widget.render) await widget.render({ model: proxy, el: this.el });
      });
    }
  }

  return { AnyModel, AnyView };
});

// 4. Accessible names: ipywidgets' slider handles (noUiSlider, role="slider") have none. Give
//    each the text of its slider's label, on every saved widget the page renders (nameSliders
//    comes from name_sliders.js, loaded before this file; the live KeyGuard runs the same code).
(function () {
  "use strict";
  let queued = false;
  const observer = new MutationObserver(() => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; nameSliders(document); });
  });
  const start = () => { nameSliders(document); observer.observe(document.body, { childList: true, subtree: true }); };
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();
