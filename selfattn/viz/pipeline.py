"""Figures for chapter 3: the stages of attention, why √d_k (measured), softmax and the weighted sum."""
from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

from ..explore.pipeline import SATURATED
from .heatmap import add_colorbar, attention_heatmap, heatmap_grid, to_numpy
from .style import ACCENT, PALETTE

HATCHES = ("", "//", "..", "xx")     # bars told apart by pattern as well as colour
KEY_HATCHES = ("", "//", "..", "\\\\", "xx", "oo", "--", "++")


def _cell_size(n: int, panels: int, width: float) -> float:
    """Side of one square panel so that `panels` of them fit in `width` inches."""
    return min(max(2.0, 0.34 * n + 0.6), width / panels)


def score_stages_figure(stages, tokens: Sequence[str], *, annotate: bool | None = None, width: float = 7.2):
    """Stages 1-3 (QKᵀ, scale, mask) side by side on one shared, symmetric colour scale (that of QKᵀ),
    so the scaling stage visibly fades; blocked cells are hatched. Numbers in the cells up to 8 tokens.

    stages: the list from selfattn.explore.pipeline.attention_stages (or sentence_stages(...).stages).
    """
    n = len(tokens)
    annotate = n <= 8 if annotate is None else annotate
    cell = _cell_size(n, 3, width - 0.9)
    fig, axes = plt.subplots(1, 3, figsize=(cell * 3 + 0.9, cell + 0.9))
    raw = to_numpy(stages[0].matrix).astype(float)
    score_lim = max(1e-9, float(np.abs(raw[np.isfinite(raw)]).max()) if np.isfinite(raw).any() else 1.0)
    for idx, (ax, st) in enumerate(zip(axes, stages[:3])):
        allowed = None if st.blocked is None else ~to_numpy(st.blocked).astype(bool)
        attention_heatmap(st.matrix, tokens, tokens, ax=ax, title=f"{idx + 1}. {st.name}", signed=True, mask=allowed,
                          colorbar=False, annotate=annotate, vmax=score_lim,
                          xlabel="key", ylabel="query" if idx == 0 else "")
        if idx:
            ax.set_yticklabels([])
    fig.tight_layout()
    add_colorbar(axes[0].images[0], list(axes), label="score", shrink=0.8)
    return fig


def mixing_stages_figure(stages, tokens: Sequence[str], value_labels: Sequence[str], *,
                         annotate: bool | None = None, width: float = 7.2):
    """Stages 4 and 5: the weights (softmax of the masked scores, rows sum to 1) and the output αV,
    each with its own colour scale; blocked cells of the weights are hatched."""
    n = len(tokens)
    d_v = len(value_labels)
    annotate = n <= 8 if annotate is None else annotate
    weights, output = stages[3], stages[4]
    fig, axes = plt.subplots(1, 2, figsize=(width, max(2.8, 0.34 * n + 1.9)),
                             gridspec_kw={"width_ratios": [n, d_v]})
    allowed = None if weights.blocked is None else ~to_numpy(weights.blocked).astype(bool)
    attention_heatmap(weights.matrix, tokens, tokens, ax=axes[0], title=f"4. {weights.name}: weights α",
                      mask=allowed, colorbar=True, annotate=annotate, xlabel="key", ylabel="query")
    out = to_numpy(output.matrix).astype(float)
    attention_heatmap(out, tokens, value_labels, ax=axes[1], title="5. ×V: output αV", signed=output.signed,
                      vmax=None if output.signed else max(1e-9, float(out.max())), colorbar=False,
                      annotate=annotate, xlabel="value feature", ylabel="")
    axes[1].set_yticklabels([])
    add_colorbar(axes[1].images[0], axes[1], label="output value")
    fig.tight_layout()
    return fig


def variance_figure(result):
    """Measured Var(q·k) against d_k, with and without dividing by √d_k (log-log axes)."""
    fig, ax = plt.subplots(figsize=(5.6, 3.6))
    d = result.d_ks
    ax.loglog(d, result.var_raw, "o-", color=ACCENT, label="q·k (unscaled)")
    ax.loglog(d, result.var_scaled, "s-", color=PALETTE[0], label="q·k / √d_k")
    ax.loglog(d, d, ":", color="#888888", label="d_k (theory for q·k)")
    ax.set_xlabel("d_k (width of queries and keys)")
    ax.set_ylabel(f"variance over {result.n_samples} pairs")
    ax.set_title("Dot products spread out as d_k grows")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def saturation_figure(result):
    """Four panels against d_k, unscaled vs scaled: the largest weight, the share of saturated rows,
    and the gradient that reaches the logits and the query (medians, measured with autograd)."""
    fig, axes = plt.subplots(2, 2, figsize=(7.2, 5.8))
    d = result.d_ks
    panels = [(result.max_weight, "mean largest weight", False, f"uniform = 1/{result.n_k}", "how peaked the rows are"),
              (result.saturated, "saturated rows (share)", False, None, f"rows with a weight above {SATURATED}"),
              (result.grad_scores, "median ‖∂L/∂logits‖ (log scale)", True, None, "gradient at the logits"),
              (result.grad_query, "median ‖∂L/∂q‖ (log scale)", True, None, "gradient at the query")]
    for ax, (vals, ylabel, log, note, title) in zip(axes.flat, panels):
        ax.set_title(title, fontsize=10)
        ax.plot(d, vals["raw"], "o-", color=ACCENT, label="QKᵀ (unscaled)")
        ax.plot(d, vals["scaled"], "s-", color=PALETTE[0], label="QKᵀ / √d_k")
        ax.set_xscale("log")
        if log:
            ax.set_yscale("log")
        else:
            ax.set_ylim(bottom=0)
        ax.set_xlabel("d_k")
        ax.set_ylabel(ylabel)
        if note:
            ax.axhline(1 / result.n_k, color="#888888", ls=":", lw=1)
            ax.text(d[0], 1 / result.n_k, note, fontsize=8, va="bottom", color="#555555")
    axes[0, 0].legend(frameon=False, fontsize=8)
    fig.suptitle(f"Softmax over n_k = {result.n_k} random keys: saturation and gradients, measured")
    fig.tight_layout()
    return fig


def temperature_figure(rows: Mapping[float, Sequence[float]], key_labels: Sequence[str], *, query_label: str = "query"):
    """One row of scores turned into weights at several temperatures: low T sharpens, high T flattens.

    rows: {T: weights} from selfattn.explore.pipeline.temperature_rows."""
    temps = list(rows)
    n = len(key_labels)
    fig, ax = plt.subplots(figsize=(min(7.0, max(5.0, 0.3 * n * len(temps) + 2)), 3.2))
    width = 0.8 / len(temps)
    for t_idx, temp in enumerate(temps):
        w = to_numpy(rows[temp]).astype(float).reshape(-1)
        ax.bar(np.arange(n) + (t_idx - (len(temps) - 1) / 2) * width, w, width,
               color=PALETTE[t_idx % len(PALETTE)], label=f"T = {temp:g}", hatch=HATCHES[t_idx % len(HATCHES)],
               edgecolor="white")
    ax.set_xticks(range(n), list(key_labels))
    ax.set_xlabel("key")
    ax.set_ylabel("weight")
    ax.set_ylim(0, 1)
    ax.set_title(f'softmax(scores / T) for query "{query_label}"')
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def saturation_grid(views, *, labels: Sequence[str] | None = None):
    """Weights from several `saturation_view`s side by side (e.g. small and large d_k, scaled or not)."""
    n = to_numpy(views[0].weights).shape[0]
    labels = list(labels) if labels is not None else [f"t{i}" for i in range(n)]
    titles = [f"d_k={v.d_k}, T={v.temperature:g}\n{'÷ √d_k' if v.scaled else 'unscaled'}: max w̄={v.mean_max_weight:.2f}"
              for v in views]
    return heatmap_grid([v.weights for v in views], titles, labels, labels, ncols=len(views))


def weighted_sum_figure(terms, output, key_labels: Sequence[str], value_labels: Sequence[str], *, query_label: str = "query",
                        weights=None):
    """out_i = Σ_j α_ij v_j drawn as stacked bars: one bar per value feature, one colour per key."""
    t = to_numpy(terms).astype(float)                               # (n_k, d_v)
    out = to_numpy(output).astype(float).reshape(-1)                 # (d_v,)
    w = None if weights is None else to_numpy(weights).astype(float).reshape(-1)
    fig, ax = plt.subplots(figsize=(max(5.5, 0.55 * t.shape[1] + 2.5), 3.4))
    pos = np.zeros(t.shape[1])
    neg = np.zeros(t.shape[1])
    for j, lab in enumerate(key_labels):
        base = np.where(t[j] >= 0, pos, neg)
        label = f"{lab} (α={w[j]:.2f})" if w is not None else lab
        ax.bar(range(t.shape[1]), t[j], bottom=base, color=PALETTE[j % len(PALETTE)], label=label, width=0.7,
               hatch=KEY_HATCHES[j % len(KEY_HATCHES)], edgecolor="white", linewidth=0.5)
        pos = pos + np.clip(t[j], 0, None)
        neg = neg + np.clip(t[j], None, 0)
    ax.plot(range(t.shape[1]), out, "k_", markersize=18, mew=2, label="out (the sum)")
    ax.axhline(0, color="#888888", lw=0.8)
    ax.set_xticks(range(t.shape[1]), list(value_labels), rotation=45, ha="right")
    ax.set_xlabel("value feature")
    ax.set_ylabel("α_ij · v_j  (stacked)")
    ax.set_title(f'out for "{query_label}" = Σ_j α_j v_j, one colour per key j')
    ax.legend(frameon=False, fontsize=8, bbox_to_anchor=(1.01, 1), loc="upper left", title="key j")
    fig.tight_layout()
    return fig
