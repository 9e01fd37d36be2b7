// Attention heatmap drawn on a canvas: rows are queries, columns are keys.
// Hover is handled here in the browser (no round trip); a click sends {event: "click", row, col}
// to Python, which decides what it means (select a query, or block/open a cell in the mask editor).
// The root element carries data-values and data-blocked (JSON) so tests can read what is shown.

function blues(t) {
  // matplotlib's "Blues" endpoints, interpolated through a mid tone.
  const stops = [[247, 251, 255], [107, 174, 214], [8, 48, 107]];
  t = Math.max(0, Math.min(1, t));
  const seg = t < 0.5 ? 0 : 1;
  const u = t < 0.5 ? t / 0.5 : (t - 0.5) / 0.5;
  const a = stops[seg], b = stops[seg + 1];
  return a.map((c, i) => Math.round(c + (b[i] - c) * u));
}

function rdbu(t) {
  // diverging map for signed scores: t in [-1, 1]
  t = Math.max(-1, Math.min(1, t));
  const neg = [33, 102, 172], mid = [247, 247, 247], pos = [178, 24, 43];
  const end = t < 0 ? neg : pos, u = Math.abs(t);
  return mid.map((c, i) => Math.round(c + (end[i] - c) * u));
}

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "selfattn-heatmap";
  const title = document.createElement("div");
  title.className = "sa-title";
  const canvas = document.createElement("canvas");
  const readout = document.createElement("div");
  readout.className = "sa-readout";
  root.append(title, canvas, readout);
  el.appendChild(root);
  let hover = null;

  function layout() {
    const rows = model.get("row_labels"), cols = model.get("col_labels");
    const cell = model.get("cell_size");
    const ctx = canvas.getContext("2d");
    ctx.font = "12px sans-serif";
    const left = 8 + Math.max(0, ...rows.map((s) => ctx.measureText(s).width));
    const top = 8 + Math.max(0, ...cols.map((s) => ctx.measureText(s).width));
    return { rows, cols, cell, left, top };
  }

  function cellAt(evt) {
    const { rows, cols, cell, left, top } = layout();
    const r = canvas.getBoundingClientRect();
    const x = (evt.clientX - r.left) * (canvas.width / r.width) - left;
    const y = (evt.clientY - r.top) * (canvas.height / r.height) - top;
    const j = Math.floor(x / cell), i = Math.floor(y / cell);
    if (i < 0 || j < 0 || i >= rows.length || j >= cols.length) return null;
    return [i, j];
  }

  function describe(i, j) {
    const rows = model.get("row_labels"), cols = model.get("col_labels");
    const vals = model.get("values"), blocked = model.get("blocked");
    const isBlocked = blocked.length && blocked[i][j];
    const v = vals[i][j];
    const shown = isBlocked ? "blocked" : (v === null ? "-inf" : v.toFixed(3));
    return `query "${rows[i]}" → key "${cols[j]}": ${shown}`;
  }

  function draw() {
    const { rows, cols, cell, left, top } = layout();
    const vals = model.get("values"), blocked = model.get("blocked");
    const signed = model.get("signed"), sel = model.get("selected");
    root.dataset.values = JSON.stringify(vals);
    root.dataset.left = String(left);
    root.dataset.top = String(top);
    root.dataset.cell = String(cell);
    root.dataset.blocked = JSON.stringify(blocked);
    title.textContent = model.get("title");
    canvas.width = left + cols.length * cell + 4;
    canvas.height = top + rows.length * cell + 4;
    const ctx = canvas.getContext("2d");
    ctx.font = "12px sans-serif";
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    let vmax = 1;
    if (signed) {
      vmax = 1e-9;
      vals.forEach((row) => row.forEach((v) => { if (v !== null) vmax = Math.max(vmax, Math.abs(v)); }));
    }
    for (let i = 0; i < rows.length; i++) {
      for (let j = 0; j < cols.length; j++) {
        const x = left + j * cell, y = top + i * cell;
        const v = vals[i][j];
        if ((blocked.length && blocked[i][j]) || v === null) {
          ctx.fillStyle = "#d9d9d9";
          ctx.fillRect(x, y, cell - 1, cell - 1);
          ctx.strokeStyle = "#bdbdbd";
          ctx.beginPath(); ctx.moveTo(x + 3, y + cell - 4); ctx.lineTo(x + cell - 4, y + 3); ctx.stroke();
          continue;
        }
        const rgb = signed ? rdbu(v / vmax) : blues(v);
        ctx.fillStyle = `rgb(${rgb[0]},${rgb[1]},${rgb[2]})`;
        ctx.fillRect(x, y, cell - 1, cell - 1);
        if (model.get("annotate") && cell >= 30) {
          const dark = signed ? Math.abs(v / vmax) > 0.6 : v > 0.6;
          ctx.fillStyle = dark ? "#ffffff" : "#000000";
          ctx.textAlign = "center"; ctx.textBaseline = "middle";
          ctx.fillText(v.toFixed(2), x + cell / 2, y + cell / 2);
        }
      }
    }
    ctx.fillStyle = "#000000";
    ctx.textAlign = "right"; ctx.textBaseline = "middle";
    rows.forEach((s, i) => {
      ctx.font = (sel[0] === i || (hover && hover[0] === i)) ? "bold 12px sans-serif" : "12px sans-serif";
      ctx.fillText(s, left - 6, top + i * cell + cell / 2);
    });
    cols.forEach((s, j) => {
      ctx.save();
      ctx.translate(left + j * cell + cell / 2, top - 6);
      ctx.rotate(-Math.PI / 2);
      ctx.textAlign = "left";
      ctx.font = (sel[1] === j || (hover && hover[1] === j)) ? "bold 12px sans-serif" : "12px sans-serif";
      ctx.fillText(s, 0, 0);
      ctx.restore();
    });
    const outline = (ij, colour) => {
      if (!ij || ij[0] < 0 || ij[0] >= rows.length) return;
      ctx.strokeStyle = colour; ctx.lineWidth = 2;
      ctx.strokeRect(left, top + ij[0] * cell, cols.length * cell - 1, cell - 1);
      ctx.lineWidth = 1;
    };
    outline(sel, "#d62728");
    outline(hover, "#ff7f0e");
    if (hover) readout.textContent = describe(hover[0], hover[1]);
    else if (sel[0] >= 0 && sel[1] >= 0 && sel[0] < rows.length && sel[1] < cols.length) readout.textContent = describe(sel[0], sel[1]);
    else readout.textContent = model.get("caption");
  }

  canvas.addEventListener("mousemove", (evt) => {
    const ij = cellAt(evt);
    if (JSON.stringify(ij) !== JSON.stringify(hover)) { hover = ij; draw(); }
  });
  canvas.addEventListener("mouseleave", () => { hover = null; draw(); });
  canvas.addEventListener("click", (evt) => {
    const ij = cellAt(evt);
    if (ij) model.send({ event: "click", row: ij[0], col: ij[1] });
  });
  for (const name of ["values", "blocked", "row_labels", "col_labels", "title", "selected", "signed", "cell_size", "caption", "annotate"]) {
    model.on(`change:${name}`, draw);
  }
  draw();
}

export default { render };
