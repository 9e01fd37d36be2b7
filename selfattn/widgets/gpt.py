"""Chapter 10's live views: the next-character explorer, the head gallery of the trained model, and
the progress bar with a live loss curve shown while the model retrains.

    NextTokenExplorer(model, vocab)   type a prompt, choose temperature / top-k / top-p / seed: the
                                      next-character distribution as bars (kept ones highlighted) and
                                      a sampled continuation
    gpt_heads(model, vocab, text)     selfattn.widgets.heads.HeadView on the trained model's heads
    TrainingMonitor(total_steps)      a progress bar and a live loss curve for train(..., callback)
"""
from __future__ import annotations

import html

import ipywidgets as W

from ..explore.gpt.generate import attention_maps, next_token
from ..errors import AttentionInputError
from .base import BookWidget, on_one_thread
from .heads import HeadView

SHOWN = 16          # bars drawn: the most probable characters (every kept one is among them or counted)
N_NEW = 40          # characters of sampled continuation


def _bars_html(labels, raw, probs, kept) -> str:
    order = sorted(range(len(raw)), key=lambda i: (-float(raw[i]), i))[:SHOWN]
    top = max(float(raw[order[0]]), 1e-9)
    rows = []
    for i in order:
        keep = bool(kept[i])
        colour = "#1f77b4" if keep else "#d0d0d0"
        pattern = "" if keep else ("background-image: repeating-linear-gradient(45deg, #595959 0 1px, "
                                   "transparent 1px 6px);")
        width = 260 * float(raw[i]) / top
        rows.append(
            f'<div style="display:flex;align-items:center;gap:6px;font:13px monospace">'
            f'<span style="width:2.2em;text-align:right">{html.escape(labels[i])}</span>'
            f'<span style="display:inline-block;height:14px;width:{width:.0f}px;background:{colour};{pattern}"></span>'
            f'<span>{float(raw[i]):.3f} → {float(probs[i]):.3f}{"" if keep else " (cut)"}</span></div>')
    n_kept = int(kept.sum())
    head = (f'<div style="font:13px sans-serif;margin-bottom:4px">{n_kept} of {len(raw)} characters kept. '
            "Each bar: probability at temperature 1 → probability after the settings. Grey, hatched: cut.</div>")
    return head + "".join(rows)


class NextTokenExplorer(BookWidget):
    """Type a prompt; see what the trained model would write next, and how the settings reshape it."""

    kind = "next-character explorer"

    def __init__(self, model, vocab, prompt: str = "And the LORD said unto Moses, ", *, temperature: float = 1.0,
                 top_k: int = 0, top_p: float = 1.0, seed: int = 0):
        self.model, self.vocab = model, vocab
        self.prompt = W.Text(value=prompt, description="prompt", continuous_update=False,
                             layout=W.Layout(width="560px"))
        self.temperature = W.FloatSlider(value=temperature, min=0.0, max=2.0, step=0.05, description="temperature",
                                         continuous_update=False)
        self.top_k = W.IntSlider(value=top_k, min=0, max=vocab.size, description="top-k (0 = off)",
                                 continuous_update=False, style={"description_width": "110px"})
        self.top_p = W.FloatSlider(value=top_p, min=0.05, max=1.0, step=0.05, description="top-p",
                                   continuous_update=False)
        self.seed = W.IntText(value=seed, description="seed", layout=W.Layout(width="180px"))
        self.bars = W.HTML()
        self.text = W.HTML()
        self.view = None
        self._prefill = None                     # the shown prompt run through the model once, with its caches
        self.shown_prompt = prompt
        self._build([self.prompt, W.HBox([self.temperature, self.seed]), W.HBox([self.top_k, self.top_p]),
                     self.bars, self.text])
        for control in (self.temperature, self.top_k, self.top_p, self.seed):
            control.observe(lambda _: self.update(), names="value")
        self.prompt.observe(lambda ch: self.set_prompt(ch["new"]), names="value")
        self.update()

    def settings(self) -> dict:
        return {"temperature": float(self.temperature.value), "top_k": int(self.top_k.value) or None,
                "top_p": float(self.top_p.value), "seed": int(self.seed.value)}

    def set_prompt(self, prompt: str) -> bool:
        return self.update(prompt)

    @on_one_thread
    def update(self, prompt: str | None = None) -> bool:
        prompt = self.shown_prompt if prompt is None else prompt
        try:
            view, self._prefill = next_token(self.model, self.vocab, prompt, n_new=N_NEW, prefilled=self._prefill,
                                             **self.settings())
        except AttentionInputError as e:
            if self.prompt.value != self.shown_prompt:
                self.prompt.value = self.shown_prompt          # the box shows the prompt still drawn
            return self.refuse(str(e))
        self.view, self.shown_prompt = view, prompt
        self.accept()
        self.redraw()
        return True

    def redraw(self) -> None:
        v = self.view
        if v is None:
            return
        labels = [self.vocab.label(i) for i in range(self.vocab.size)]
        self.bars.value = _bars_html(labels, v.raw, v.probs, v.kept)
        self.text.value = (f'<div style="font:14px serif;margin-top:6px"><b>{html.escape(v.prompt)}</b>'
                           f'<span style="color:#1f4e79">{html.escape(v.continuation)}</span></div>')

    def values(self) -> dict:
        v = self.view
        order = sorted(range(len(v.raw)), key=lambda i: (-float(v.raw[i]), i))[:5]
        return {"prompt": repr(v.prompt), **self.settings(), "kept": int(v.kept.sum()),
                "top 5 (temperature 1)": ", ".join(f"{self.vocab.label(i)} {float(v.raw[i]):.3f}" for i in order),
                "top 5 (after settings)": ", ".join(f"{self.vocab.label(i)} {float(v.probs[i]):.3f}" for i in order),
                "continuation": repr(v.continuation)}

    @classmethod
    def demo(cls):
        from ..explore.gpt.data import corpus
        from ..explore.gpt.train import load_weights
        model, _ = load_weights()
        return cls(model, corpus().vocab)

    def step(self, i: int) -> None:
        """One update as a reader makes it: a new temperature (and every third step a new seed)."""
        self.temperature.value = [0.5, 1.0, 1.5][i % 3]
        if i % 3 == 0:
            self.seed.value = i


def gpt_heads(model, vocab, text: str = "And God said, Le") -> HeadView:
    """The head gallery (chapter 6's HeadView) on the trained model: one map per (layer, head)."""
    return HeadView(text, compute=lambda t: attention_maps(model, vocab, t), head="all heads",
                    note=lambda maps: f"{maps.n_layers} layers × {maps.n_heads} heads of the trained model; "
                                      "rows are queries (each character), columns the characters it may read")


class TrainingMonitor:
    """A progress bar and a live loss curve (train and validation), for train(..., callback=monitor).

    The curve is a figure from selfattn.viz.gpt, redrawn in place at every evaluation.
    """

    def __init__(self, total_steps: int, baselines=None):
        from IPython.display import DisplayHandle, display
        self.total, self.baselines = total_steps, baselines
        self.bar = W.IntProgress(value=0, min=0, max=total_steps, description="training")
        self.label = W.HTML()
        display(W.HBox([self.bar, self.label]))
        self.handle = DisplayHandle()
        self.handle.display(W.HTML("the loss curve appears at the first evaluation"))

    def __call__(self, step: int, history) -> None:
        import matplotlib.pyplot as plt
        from ..viz.gpt import loss_curves
        self.bar.value = step
        self.label.value = (f"step {step}/{self.total} · train {history.train_bits[-1]:.3f} · validation "
                            f"{history.val_bits[-1]:.3f} bits/char · {history.tokens_per_second:,.0f} tokens/s")
        fig = loss_curves(history, self.baselines)
        self.handle.update(fig)
        plt.close(fig)
