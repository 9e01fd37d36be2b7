"""Chapter 11's task: rewrite a date such as "12 March 2024" as "2024-03-12".

A small transduction task whose correct alignment is known and is not monotonic: the year, which
comes last in the source, comes first in the target, and the day moves from the front to the end.
So the cross-attention a trained decoder learns can be checked token by token.

Source tokens: the digits of the day, the month as one word token, the four digits of the year
("12 March 2024" -> 1 2 March 2 0 2 4). Target tokens: characters of "2024-03-12".
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass

import torch

from ...errors import AttentionInputError, check_int

MONTHS = tuple(calendar.month_name[1:])                  # "January" .. "December" (English, as in the C locale)
DIGITS = tuple("0123456789")
PAD, BOS, EOS = "<pad>", "<bos>", "<eos>"
SOURCE_VOCAB = (PAD,) + DIGITS + MONTHS                  # 23 tokens
TARGET_VOCAB = (PAD, BOS, EOS) + DIGITS + ("-",)         # 14 tokens
SOURCE_ID = {tok: i for i, tok in enumerate(SOURCE_VOCAB)}
TARGET_ID = {tok: i for i, tok in enumerate(TARGET_VOCAB)}
TARGET_LEN = 10                                          # "yyyy-mm-dd"
MAX_SOURCE_LEN = 7                                       # two day digits, the month, four year digits
YEARS = (1900, 2099)                                     # the range of years the task draws from


@dataclass(frozen=True)
class Date:
    day: int
    month: int
    year: int

    def source_tokens(self) -> list[str]:
        """'12 March 2024' as tokens: ['1', '2', 'March', '2', '0', '2', '4']."""
        return list(str(self.day)) + [MONTHS[self.month - 1]] + list(f"{self.year:04d}")

    def source_text(self) -> str:
        return f"{self.day} {MONTHS[self.month - 1]} {self.year}"

    def target_tokens(self) -> list[str]:
        """'2024-03-12' as characters."""
        return list(f"{self.year:04d}-{self.month:02d}-{self.day:02d}")


def sample_dates(count: int, *, seed: int) -> list[Date]:
    """``count`` valid calendar dates drawn uniformly from the years in YEARS (seeded)."""
    count = check_int(count, "count", minimum=1)
    g = torch.Generator().manual_seed(int(seed))
    years = torch.randint(YEARS[0], YEARS[1] + 1, (count,), generator=g).tolist()
    months = torch.randint(1, 13, (count,), generator=g).tolist()
    fracs = torch.rand(count, generator=g).tolist()
    dates = []
    for y, m, f in zip(years, months, fracs):
        n_days = calendar.monthrange(y, m)[1]
        dates.append(Date(1 + min(int(f * n_days), n_days - 1), m, y))
    return dates


def split_dates(n_train: int, n_test: int, *, seed: int = 0) -> tuple[list[Date], list[Date]]:
    """Disjoint training and held-out dates: no held-out date is ever seen in training."""
    pool = list(dict.fromkeys(sample_dates(3 * (n_train + n_test), seed=seed)))   # distinct, in drawn order
    if len(pool) < n_train + n_test:
        raise AttentionInputError(f"cannot draw {n_train + n_test} distinct dates; ask for fewer")
    return pool[:n_train], pool[n_train:n_train + n_test]


def parse_source(text: str) -> Date:
    """'12 March 2024' -> Date(12, 3, 2024), or an error that says what a source must look like."""
    if not isinstance(text, str):
        raise AttentionInputError(f"the source must be text such as '12 March 2024', got {type(text).__name__}")
    parts = text.split()
    example = "write a date as day, month name and year, e.g. '12 March 2024'"
    if len(parts) != 3:
        raise AttentionInputError(f"{text!r} has {len(parts)} word(s); {example}")
    day, month, year = parts
    if month.capitalize() not in MONTHS:
        raise AttentionInputError(f"{month!r} is not an English month name; {example}")
    if not (day.isdigit() and year.isdigit() and len(year) == 4):
        raise AttentionInputError(f"the day and the year must be digits (a four-digit year); {example}")
    y, m, d = int(year), MONTHS.index(month.capitalize()) + 1, int(day)
    if not YEARS[0] <= y <= YEARS[1]:
        raise AttentionInputError(f"the model was trained on years {YEARS[0]}-{YEARS[1]}; got {y}")
    if not 1 <= d <= calendar.monthrange(y, m)[1]:
        raise AttentionInputError(f"{MONTHS[m - 1]} {y} has no day {d}")
    return Date(d, m, y)


def encode_sources(dates: list[Date]) -> tuple[torch.Tensor, torch.Tensor]:
    """Source ids (batch, MAX_SOURCE_LEN), right-padded, and the padding mask (batch, MAX_SOURCE_LEN), True = real."""
    ids = torch.zeros(len(dates), MAX_SOURCE_LEN, dtype=torch.long)            # (batch, n_src)
    for b, date in enumerate(dates):
        toks = [SOURCE_ID[t] for t in date.source_tokens()]
        ids[b, :len(toks)] = torch.tensor(toks)
    return ids, ids != SOURCE_ID[PAD]


def encode_targets(dates: list[Date]) -> tuple[torch.Tensor, torch.Tensor]:
    """Teacher forcing: decoder inputs <bos> y y y y - m m - d d and outputs y y y y - m m - d d <eos>.

    Both (batch, TARGET_LEN + 1).
    """
    rows = [[TARGET_ID[t] for t in d.target_tokens()] for d in dates]
    body = torch.tensor(rows, dtype=torch.long)                                # (batch, TARGET_LEN)
    bos = torch.full((len(dates), 1), TARGET_ID[BOS], dtype=torch.long)
    eos = torch.full((len(dates), 1), TARGET_ID[EOS], dtype=torch.long)
    return torch.cat([bos, body], 1), torch.cat([body, eos], 1)                # (batch, TARGET_LEN + 1) each


def decode_target(ids) -> str:
    """Target ids -> text, stopping at <eos> (and skipping <bos>/<pad>)."""
    out = []
    for i in (ids.tolist() if torch.is_tensor(ids) else ids):
        tok = TARGET_VOCAB[i]
        if tok == EOS:
            break
        if tok not in (BOS, PAD):
            out.append(tok)
    return "".join(out)


def alignment(date: Date) -> list[list[int]]:
    """For each target character, the source positions it should be read from (empty for '-').

    yyyy <- the four year digits (one each, in order); mm <- the month word; dd <- the day's digit(s).
    """
    n_day = len(str(date.day))
    month_pos = n_day
    year_pos = list(range(n_day + 1, n_day + 5))
    day_pos = list(range(n_day))
    return ([[p] for p in year_pos] + [[]] + [[month_pos], [month_pos]] + [[]] + [day_pos, day_pos])


def alignment_matrix(date: Date) -> torch.Tensor:
    """The known alignment as a boolean (TARGET_LEN, n_src) matrix: True where target i reads source j."""
    n_src = len(date.source_tokens())
    m = torch.zeros(TARGET_LEN, n_src, dtype=torch.bool)                        # (TARGET_LEN, n_src)
    for i, positions in enumerate(alignment(date)):
        m[i, positions] = True
    return m
