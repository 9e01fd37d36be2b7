"""Chapter 7's computations: a tiny transformer that learns on the CPU in seconds, and its toy tasks.

One job per module, read in this order:

- `vocab`: the toy world's words and the vocabulary (ids; id 0 is padding);
- `tasks`: the four task generators (pronoun, roles, sense, induction) and the fixed test sets;
- `batch`: examples as padded tensors with one attention mask per sentence;
- `config`: `TinyConfig` (the model's shape) and `TrainSettings` (how it is trained);
- `model`: `TinyTransformer`, the model itself, in one sitting;
- `train`: the deterministic training loop, `accuracy`, `History`;
- `probes`: looking inside (`inspect`, `mean_attention`, `attention_on_word`, `attention_onto`,
  `ablated`, `missed`, ...);
- `vectors`: contextual vectors (`cosine`, `cosine_matrix`, `word_vectors`, `pca_2d`).

The tasks are toys with rules we wrote ourselves; the chapter says so wherever it uses them.
Math layer: numpy and torch only.
"""
from .batch import Batch, encode_batch
from .config import TinyConfig, TrainSettings
from .model import Block, TinyOutput, TinyTransformer
from .probes import (EXAMPLES, RELATIONS, Inspection, QuerySummary, ablated, ablation_table, attention_on_word,
                     attention_onto, default_query, head_columns, head_maps, inspect, is_question, mean_attention,
                     missed, query_summary, reads_causally, relation_pairs, tokens_of)
from .tasks import (GENERATORS, TASKS, Example, induction_example, make_examples, make_test_sets, make_train_set,
                    pronoun_example, roles_example, sense_example)
from .train import History, accuracy, deterministic, train, trained_model
from .vectors import cosine, cosine_matrix, pca_2d, word_vectors
from .vocab import (AGENT_ADJ, ANIMAL_VERBS, ANIMALS, IGNORE, MEN, MONEY_NOUNS, MONEY_VERBS, NEUTRAL_ADJ, PAD,
                    PATIENT_ADJ, PEOPLE_VERBS, RIVER_NOUNS, RIVER_VERBS, SENSE_MOVES, SENSE_PEOPLE, SENSE_PREPS, SENSES,
                    SYMBOLS, VOCAB, WOMEN, Vocab)

__all__ = [name for name in dir() if not name.startswith("_") and name not in (
    "batch", "config", "model", "probes", "tasks", "vectors", "vocab")]
