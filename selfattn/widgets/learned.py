"""Chapter 7's widget: the attention of a trained tiny transformer, in the book's one head viewer.

`LearnedAttention` is `selfattn.widgets.heads.HeadView` fed by `selfattn.explore.learned.head_maps`:
pick an example sentence or type one from the model's vocabulary, choose the layer and a head (or
all heads of the layer), and click a row to make that token the query; the line under the maps says
where it looks most and what the model answers there. A sentence the model cannot read (an unknown
word, too long, empty) is refused at the top of the widget, and the view keeps the last sentence
it could draw.
"""
from __future__ import annotations

from ..explore import learned
from .heads import ALL, HeadView


def describe(maps, layer: int, head, query: int) -> str:
    """The line under the maps: where the query looks most in the shown head(s), and the model's answer."""
    if query < 0:
        return "click a row to make that token the query"
    heads = range(maps.n_heads) if head == ALL else [int(str(head).split()[-1])]
    parts = []
    for h in heads:
        s = learned.query_summary(maps, layer, h, query)
        looks = ", then ".join(f"'{t}' ({w:.2f})" for t, w in s.top)
        parts.append(f"layer {layer} · head {h} · query '{maps.tokens[query]}' (position {query}) puts most "
                     f"weight on {looks}.")
    msg = " ".join(parts) + f" The model's answer there: '{s.answer}' (probability {s.probability:.2f})."
    if not s.asked:
        msg += (" Note: the model was trained to answer only at a pronoun, a verb, 'bank' or a repeated "
                "letter, so its answer at this position means nothing.")
    return msg


def note(maps) -> str:
    mode = "read causally, like a GPT" if maps.mask is not None else "read in both directions, like BERT"
    return f"{len(maps.tokens)} tokens, {mode}"


class LearnedAttention(HeadView):
    """Look inside a trained TinyTransformer: sentence, layer and head in; heatmaps and answer out."""

    kind = "trained-model attention viewer"

    def __init__(self, model: learned.TinyTransformer, text: str = learned.EXAMPLES[0], layer: int = 1,
                 head: int | str = 1, examples=learned.EXAMPLES):
        self.model = model
        super().__init__(text, compute=lambda t: learned.head_maps(model, t), examples=examples,
                         describe=describe, note=note, layer=layer, head=head)

    @classmethod
    def demo(cls) -> "LearnedAttention":
        """The widget at its largest allowed size: a 16-token letter sequence on the trained model."""
        return cls(learned.trained_model(), text=learned.EXAMPLES[-1], layer=1, head=ALL)

    def step(self, i: int) -> None:
        """One representative update: pick example sentence i (mod the number of examples), as
        choosing it from the drop-down does."""
        self.query = -1
        self.set_text(self.examples[int(i) % len(self.examples)])
