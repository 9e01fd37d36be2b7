// Attention heatmap: rows are queries, columns are keys. Drawn on a canvas, operated by mouse,
// keyboard and screen reader.
//
// * The grid is one tab stop (role="grid"); arrow keys, Home/End (Ctrl+Home/End: first/last cell)
//   move a visible focus; Enter or Space does what a click does. Handled keys never reach
//   JupyterLab (stopPropagation), so the notebook does not move to another cell.
// * Each cell is a role="gridcell" labelled 'query "a" → key "b": 0.123'; the readout under the
//   grid (aria-live) follows the pointer or the keyboard focus.
// * Colours and limits come from Python (selfattn.viz.style via the `palette` trait,
//   selfattn.limits.MAX_TOKENS via `max_tokens`): nothing here is a copy.
// * A click or Enter sends {event: "click", row, col} to Python, which decides what it means.
// * The root carries data-values, data-blocked and data-left/top/cell (the grid's place on the
//   canvas, in canvas pixels) so tests can read what is shown and where.

const LABEL_FONT = "12px sans-serif";
const HANDLED = new Set(["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Home", "End", "PageUp", "PageDown", "Enter", " "]);
let counter = 0;

function hexToRgb(hex) {
  const h = hex.replace("#", "");
  return [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16));
}

function interpolate(stops, t) {
  // stops: evenly spaced [r, g, b] samples of a matplotlib colour map; t in [0, 1]
  t = Math.max(0, Math.min(1, t));
  const x = t * (stops.length - 1), i = Math.min(stops.length - 2, Math.floor(x)), u = x - i;
  return stops[i].map((c, k) => Math.round(c + (stops[i + 1][k] - c) * u));
}

function luminance(rgb) {
  // WCAG 2.x relative luminance (the same formula as selfattn.viz.style.relative_luminance)
  const lin = rgb.map((c) => { const s = c / 255; return s <= 0.04045 ? s / 12.92 : Math.pow((s + 0.055) / 1.055, 2.4); });
  return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
}

function contrast(a, b) {
  const la = luminance(a), lb = luminance(b);
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}

function textOn(rgb, pal) {
  // dark or light text, whichever contrasts more (one of them always reaches 4.5:1)
  const dark = hexToRgb(pal.text_dark), light = hexToRgb(pal.text_light);
  return contrast(rgb, dark) >= contrast(rgb, light) ? pal.text_dark : pal.text_light;
}

function compact(v) {
  // ".25" for 0.25, "-.3" style for tight cells; "1" for 1.00
  const s = v.toFixed(2);
  if (s === "1.00") return "1";
  if (s === "-1.00") return "-1";
  return s.replace(/^(-?)0\./, "$1.");
}

function hatch(ctx, x, y, w, h, colour) {
  ctx.save();
  ctx.beginPath(); ctx.rect(x, y, w, h); ctx.clip();
  ctx.strokeStyle = colour; ctx.lineWidth = 1;
  ctx.beginPath();
  for (let d = -h; d < w; d += 6) { ctx.moveTo(x + d, y + h); ctx.lineTo(x + d + h, y); }
  ctx.stroke();
  ctx.restore();
}

function render({ model, el }) {
  const uid = `sa-hm-${++counter}-${Math.random().toString(36).slice(2, 7)}`;
  const root = document.createElement("div");
  root.className = "selfattn-heatmap";
  const title = document.createElement("div");
  title.className = "sa-title";
  title.id = `${uid}-title`;
  const body = document.createElement("div");
  body.className = "sa-body";
  const wrap = document.createElement("div");
  wrap.className = "sa-wrap";
  const canvas = document.createElement("canvas");
  canvas.setAttribute("aria-hidden", "true");
  const grid = document.createElement("div");
  grid.className = "sa-grid";
  grid.setAttribute("role", "grid");
  grid.tabIndex = 0;
  grid.setAttribute("aria-labelledby", title.id);
  grid.setAttribute("aria-describedby", `${uid}-help`);
  grid.setAttribute("aria-readonly", "true");
  wrap.append(canvas, grid);
  const legend = document.createElement("div");
  legend.className = "sa-legend";
  legend.setAttribute("role", "img");
  body.append(wrap, legend);
  const readout = document.createElement("div");
  readout.className = "sa-readout";
  readout.setAttribute("aria-live", "polite");
  const help = document.createElement("div");
  help.className = "sa-help";
  help.id = `${uid}-help`;
  help.textContent = "Keys: arrows move between cells, Home and End go to the first and last key, Enter or Space acts like a click.";
  root.append(title, body, readout, help);
  el.appendChild(root);

  let hover = null;                 // [i, j] under the pointer
  let focus = [0, 0];               // [i, j] of the keyboard focus
  let focused = false;              // whether the grid has keyboard focus
  let geo = null;                   // the last layout
  let builtShape = "";

  // every colour comes from Python (selfattn.viz.style.widget_palette); the greys below only keep a
  // view drawable if a palette were ever missing
  const FALLBACK = { weights: [[255, 255, 255], [0, 0, 0]], scores: [[0, 0, 0], [255, 255, 255], [0, 0, 0]],
    blocked: "#ffffff", hatch: "#000000", text_dark: "#000000", text_light: "#ffffff", selected: "#000000", focus: "#000000" };
  const palette = () => Object.assign({}, FALLBACK, model.get("palette") || {});

  function layout() {
    const rows = model.get("row_labels"), cols = model.get("col_labels");
    const n = Math.max(rows.length, cols.length, 1);
    const maxTokens = model.get("max_tokens") || 16;
    let cell = model.get("cell_size");
    if (!cell) cell = n <= 10 ? 40 : (n <= maxTokens ? 32 : Math.max(8, Math.floor((32 * maxTokens) / n)));
    const ctx = canvas.getContext("2d");
    ctx.font = LABEL_FONT;
    const left = Math.ceil(8 + Math.max(0, ...rows.map((s) => ctx.measureText(s).width)));
    const top = Math.ceil(8 + Math.max(0, ...cols.map((s) => ctx.measureText(s).width)));
    return { rows, cols, cell, left, top, maxTokens };
  }

  function describe(i, j) {
    const rows = model.get("row_labels"), cols = model.get("col_labels");
    const vals = model.get("values"), blocked = model.get("blocked");
    if (!vals.length || i >= vals.length || j >= vals[i].length) return "";
    const isBlocked = blocked.length && blocked[i] && blocked[i][j];
    const v = vals[i][j];
    const shown = isBlocked ? "blocked" : (v === null ? "-inf (blocked)" : v.toFixed(3));
    return `query "${rows[i]}" → key "${cols[j]}": ${shown}`;
  }

  function scaleLimits() {
    const vals = model.get("values");
    if (!model.get("signed")) return [0, 1];
    let vmax = 1e-9;
    vals.forEach((row) => row.forEach((v) => { if (v !== null) vmax = Math.max(vmax, Math.abs(v)); }));
    return [-vmax, vmax];
  }

  function colourOf(v, lim) {
    const pal = palette();
    if (model.get("signed")) return interpolate(pal.scores, (v / lim[1] + 1) / 2);
    return interpolate(pal.weights, v);
  }

  function buildCells() {
    // the ARIA grid: one row element per query, one gridcell per key (ids for aria-activedescendant)
    const { rows, cols, cell, maxTokens } = geo;
    const shape = `${rows.length}x${cols.length}x${cell}`;
    const full = rows.length * cols.length <= maxTokens * maxTokens;
    if (shape + full !== builtShape) {
      builtShape = shape + full;
      grid.replaceChildren();
      grid.setAttribute("aria-rowcount", String(rows.length));
      grid.setAttribute("aria-colcount", String(cols.length));
      for (let i = 0; i < rows.length; i++) {
        if (!full && i !== focus[0]) continue;
        const r = document.createElement("div");
        r.setAttribute("role", "row");
        r.setAttribute("aria-rowindex", String(i + 1));
        r.className = "sa-row";
        for (let j = 0; j < cols.length; j++) {
          if (!full && j !== focus[1]) continue;
          const c = document.createElement("div");
          c.setAttribute("role", "gridcell");
          c.setAttribute("aria-colindex", String(j + 1));
          c.id = `${uid}-c${i}-${j}`;
          c.className = "sa-cell";
          c.style.left = `${j * cell}px`;
          c.style.top = `${i * cell}px`;
          c.style.width = c.style.height = `${cell}px`;
          r.appendChild(c);
        }
        grid.appendChild(r);
      }
    }
    grid.querySelectorAll('[role="gridcell"]').forEach((c) => {
      const [i, j] = c.id.slice(uid.length + 2).split("-").map(Number);
      c.setAttribute("aria-label", describe(i, j));
      c.setAttribute("aria-selected", String(i === focus[0] && j === focus[1]));
    });
    const active = document.getElementById(`${uid}-c${focus[0]}-${focus[1]}`);
    if (active) grid.setAttribute("aria-activedescendant", active.id);
    else grid.removeAttribute("aria-activedescendant");
  }

  function fitNumber(ctx, v, cell) {
    // the largest font (12..9 px) at which the number fits its cell; null when none does
    for (const size of [12, 11, 10, 9]) {
      ctx.font = `${size}px sans-serif`;
      for (const text of [v.toFixed(2), compact(v)]) {
        if (ctx.measureText(text).width <= cell - 4 && size + 2 <= cell) return { text, font: ctx.font };
      }
    }
    return null;
  }

  function drawLegend(lim) {
    const pal = palette();
    const signed = model.get("signed");
    const h = Math.max(60, Math.min(160, geo.rows.length * geo.cell));
    legend.replaceChildren();
    legend.style.marginTop = `${geo.top}px`;
    const name = document.createElement("div");
    name.className = "sa-legend-name";
    name.textContent = model.get("value_label") || (signed ? "score" : "weight");
    const row = document.createElement("div");
    row.className = "sa-legend-row";
    const bar = document.createElement("canvas");
    bar.width = 12; bar.height = h;
    bar.setAttribute("aria-hidden", "true");
    const bctx = bar.getContext("2d");
    for (let y = 0; y < h; y++) {
      const t = 1 - y / (h - 1);
      const rgb = signed ? interpolate(pal.scores, t) : interpolate(pal.weights, t);
      bctx.fillStyle = `rgb(${rgb[0]},${rgb[1]},${rgb[2]})`;
      bctx.fillRect(0, y, 12, 1);
    }
    bctx.strokeStyle = pal.hatch; bctx.strokeRect(0.5, 0.5, 11, h - 1);
    const ticks = document.createElement("div");
    ticks.className = "sa-legend-ticks";
    ticks.style.height = `${h}px`;
    const fmt = (x) => x.toFixed(Math.abs(x) >= 10 ? 1 : 2);
    const hi = document.createElement("span"); hi.textContent = fmt(lim[1]);
    const lo = document.createElement("span"); lo.textContent = fmt(lim[0]);
    ticks.append(hi);
    if (signed) { const mid = document.createElement("span"); mid.textContent = "0"; ticks.append(mid); }
    ticks.append(lo);
    row.append(bar, ticks);
    legend.append(name, row);
    const items = [];
    if ((model.get("blocked") || []).some((r) => r.some(Boolean)) || model.get("values").some((r) => r.some((v) => v === null))) {
      const key = document.createElement("div");
      key.className = "sa-legend-blocked";
      const sw = document.createElement("canvas");
      sw.width = 14; sw.height = 14; sw.setAttribute("aria-hidden", "true");
      const sctx = sw.getContext("2d");
      sctx.fillStyle = pal.blocked; sctx.fillRect(0, 0, 14, 14);
      hatch(sctx, 0, 0, 14, 14, pal.hatch);
      const txt = document.createElement("span"); txt.textContent = "blocked";
      key.append(sw, txt);
      legend.append(key);
      items.push("hatched cells are blocked");
    }
    legend.setAttribute("aria-label", `colour scale for ${name.textContent}: light is ${fmt(lim[0])}, dark is ${fmt(lim[1])}` +
      (signed ? " (blue negative, red positive)" : "") + (items.length ? `; ${items.join(", ")}` : ""));
  }

  function draw() {
    geo = layout();
    const { rows, cols, cell, left, top } = geo;
    const pal = palette();
    const vals = model.get("values"), blocked = model.get("blocked");
    const sel = model.get("selected");
    if (focus[0] >= rows.length) focus[0] = Math.max(0, rows.length - 1);
    if (focus[1] >= cols.length) focus[1] = Math.max(0, cols.length - 1);
    root.dataset.values = JSON.stringify(vals);
    root.dataset.left = String(left);
    root.dataset.top = String(top);
    root.dataset.cell = String(cell);
    root.dataset.blocked = JSON.stringify(blocked);
    title.textContent = model.get("title") || "attention weights (rows: queries, columns: keys)";
    canvas.width = left + cols.length * cell + 4;
    canvas.height = top + rows.length * cell + 4;
    grid.style.left = `${left}px`;
    grid.style.top = `${top}px`;
    grid.style.width = `${cols.length * cell}px`;
    grid.style.height = `${rows.length * cell}px`;
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const lim = scaleLimits();
    let numbersFit = true;
    for (let i = 0; i < rows.length; i++) {
      for (let j = 0; j < cols.length; j++) {
        const x = left + j * cell, y = top + i * cell;
        const v = vals[i] ? vals[i][j] : null;
        if ((blocked.length && blocked[i] && blocked[i][j]) || v === null || v === undefined) {
          ctx.fillStyle = pal.blocked;
          ctx.fillRect(x, y, cell - 1, cell - 1);
          hatch(ctx, x, y, cell - 1, cell - 1, pal.hatch);
          continue;
        }
        const rgb = colourOf(v, lim);
        ctx.fillStyle = `rgb(${rgb[0]},${rgb[1]},${rgb[2]})`;
        ctx.fillRect(x, y, cell - 1, cell - 1);
        if (model.get("annotate")) {
          const fit = fitNumber(ctx, v, cell);
          if (!fit) { numbersFit = false; continue; }
          ctx.font = fit.font;
          ctx.fillStyle = textOn(rgb, pal);
          ctx.textAlign = "center"; ctx.textBaseline = "middle";
          ctx.fillText(fit.text, x + (cell - 1) / 2, y + (cell - 1) / 2 + 0.5);
        }
      }
    }
    ctx.fillStyle = pal.text_dark;
    ctx.textAlign = "right"; ctx.textBaseline = "middle";
    const active = focused ? focus : hover;
    rows.forEach((s, i) => {
      ctx.font = (sel[0] === i || (active && active[0] === i)) ? "bold " + LABEL_FONT : LABEL_FONT;
      ctx.fillText(s, left - 6, top + i * cell + cell / 2);
    });
    cols.forEach((s, j) => {
      ctx.save();
      ctx.translate(left + j * cell + cell / 2, top - 6);
      ctx.rotate(-Math.PI / 2);
      ctx.textAlign = "left";
      ctx.font = (sel[1] === j || (active && active[1] === j)) ? "bold " + LABEL_FONT : LABEL_FONT;
      ctx.fillText(s, 0, 0);
      ctx.restore();
    });
    const outlineRow = (ij, colour) => {
      if (!ij || ij[0] < 0 || ij[0] >= rows.length) return;
      ctx.strokeStyle = colour; ctx.lineWidth = 2;
      ctx.strokeRect(left, top + ij[0] * cell, cols.length * cell - 1, cell - 1);
      ctx.lineWidth = 1;
    };
    outlineRow(sel, pal.selected);
    if (hover && !focused) outlineRow(hover, pal.focus);
    if (focused && rows.length && cols.length) {
      // the keyboard focus: a thick outline around one cell, dark inside light, visible on any colour
      const x = left + focus[1] * cell, y = top + focus[0] * cell;
      ctx.lineWidth = 3; ctx.strokeStyle = "#000000"; ctx.strokeRect(x + 1.5, y + 1.5, cell - 4, cell - 4);
      ctx.lineWidth = 1; ctx.strokeStyle = "#ffffff"; ctx.strokeRect(x + 3.5, y + 3.5, cell - 8, cell - 8);
    }
    drawLegend(lim);
    buildCells();
    const note = numbersFit || !model.get("annotate") ? "" : " (numbers do not fit these cells: hover or move the focus to read one)";
    if (focused && rows.length) readout.textContent = describe(focus[0], focus[1]);
    else if (hover) readout.textContent = describe(hover[0], hover[1]);
    else if (sel[0] >= 0 && sel[1] >= 0 && sel[0] < rows.length && sel[1] < cols.length) readout.textContent = describe(sel[0], sel[1]) + note;
    else readout.textContent = (model.get("caption") || "") + note;
  }

  function cellAt(evt) {
    if (!geo) return null;
    const { rows, cols, cell, left, top } = geo;
    const r = canvas.getBoundingClientRect();
    const x = (evt.clientX - r.left) * (canvas.width / r.width) - left;
    const y = (evt.clientY - r.top) * (canvas.height / r.height) - top;
    const j = Math.floor(x / cell), i = Math.floor(y / cell);
    if (i < 0 || j < 0 || i >= rows.length || j >= cols.length) return null;
    return [i, j];
  }

  function act(i, j) {
    model.send({ event: "click", row: i, col: j });
  }

  wrap.addEventListener("mousemove", (evt) => {
    const ij = cellAt(evt);
    if (JSON.stringify(ij) !== JSON.stringify(hover)) { hover = ij; draw(); }
  });
  wrap.addEventListener("mouseleave", () => { hover = null; draw(); });
  wrap.addEventListener("mousedown", (evt) => { if (cellAt(evt)) evt.preventDefault(); });  // no focus flash
  wrap.addEventListener("click", (evt) => {
    const ij = cellAt(evt);
    if (ij) { focus = ij; moved = true; act(ij[0], ij[1]); }
  });
  let moved = false;                // the reader has moved the focus (else it starts at the selected row)
  grid.addEventListener("focus", () => {
    const sel = model.get("selected");
    if (!moved && sel[0] >= 0) focus = [sel[0], Math.max(0, sel[1])];
    focused = true; draw();
  });
  grid.addEventListener("blur", () => { focused = false; draw(); });
  grid.addEventListener("keydown", (evt) => {
    if (!HANDLED.has(evt.key) || evt.altKey || evt.metaKey || (evt.key === "Enter" && (evt.shiftKey || evt.ctrlKey))) return;
    evt.stopPropagation();
    evt.preventDefault();
    const n_q = geo ? geo.rows.length : 0, n_k = geo ? geo.cols.length : 0;
    if (!n_q || !n_k) return;
    let [i, j] = focus;
    switch (evt.key) {
      case "ArrowUp": i = Math.max(0, i - 1); break;
      case "ArrowDown": i = Math.min(n_q - 1, i + 1); break;
      case "ArrowLeft": j = Math.max(0, j - 1); break;
      case "ArrowRight": j = Math.min(n_k - 1, j + 1); break;
      case "Home": j = 0; if (evt.ctrlKey) i = 0; break;
      case "End": j = n_k - 1; if (evt.ctrlKey) i = n_q - 1; break;
      case "PageUp": i = 0; break;
      case "PageDown": i = n_q - 1; break;
      case "Enter": case " ": act(i, j); return;
    }
    focus = [i, j];
    moved = true;
    draw();
  });
  // keys that reach the grid's surroundings (the title, the legend) stay in the widget too
  root.addEventListener("keydown", (evt) => { if (HANDLED.has(evt.key) && !evt.shiftKey) evt.stopPropagation(); });
  for (const name of ["values", "blocked", "row_labels", "col_labels", "title", "selected", "signed", "cell_size",
    "caption", "annotate", "palette", "max_tokens", "value_label"]) {
    model.on(`change:${name}`, draw);
  }
  draw();
}

export default { render };
