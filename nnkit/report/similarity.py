"""Near-identical code between students: normalised-token n-gram similarity.

How it is measured (the dashboard says the same):

1. take the student's solution cells (the cells they were asked to write), minus
   any line that is also in the blank release (the given stubs and comments);
2. tokenise them with Python's `tokenize`; drop comments, blank lines and
   docstrings; replace every identifier by ``ID``, every number by ``NUM`` and
   every string by ``STR`` (keywords and operators stay), so that renaming
   variables or changing constants does not hide a copy;
3. cut the token stream into overlapping 5-token windows (5-grams);
4. similarity(A, B) = |grams(A) ∩ grams(B)| / |grams(A) ∪ grams(B)| (Jaccard).

A pair at or above `THRESHOLD` (0.9) is flagged for a TA to read, when both
students wrote at least `MIN_TOKENS` tokens (tiny answers collide by chance).
Similar code is not proof of copying: solutions that follow one worked example
can be close. The flag asks a person to look.
"""
from __future__ import annotations

import io
import itertools
import keyword
import tokenize
from dataclasses import dataclass

THRESHOLD = 0.9
MIN_TOKENS = 60
NGRAM = 5


def normalised_tokens(code: str, given: str = "") -> list[str]:
    """The token stream of `code` without the lines of `given`, identifiers/literals abstracted.

    The whole code is tokenised first (dropping a given line could break its indentation),
    then the tokens of given lines are left out. Code that is not valid Python is compared
    word by word.
    """
    given_lines = {line.strip() for line in given.splitlines() if line.strip()}
    lines = code.splitlines()
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code + "\n").readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        kept = " ".join(line for line in lines if line.strip() not in given_lines)
        return ["ID" if w.isidentifier() and not keyword.iskeyword(w) else w for w in kept.split()]
    out: list[str] = []
    previous = None
    for token in tokens:
        kind, text = token.type, token.string
        row = token.start[0] - 1
        if 0 <= row < len(lines) and lines[row].strip() in given_lines:
            continue
        if kind in (tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER):
            continue
        if kind == tokenize.STRING and previous in (None, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            previous = kind  # a docstring or bare string statement
            continue
        previous = kind
        if kind == tokenize.NAME:
            out.append(text if keyword.iskeyword(text) else "ID")
        elif kind == tokenize.NUMBER:
            out.append("NUM")
        elif kind in (tokenize.STRING, getattr(tokenize, "FSTRING_START", -1)):
            out.append("STR")
        elif kind in (tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            out.append(tokenize.tok_name[kind])
        else:
            out.append(text)
    return out


def ngrams(tokens: list[str], n: int = NGRAM) -> set[tuple[str, ...]]:
    return {tuple(tokens[i:i + n]) for i in range(max(0, len(tokens) - n + 1))}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


@dataclass(frozen=True)
class SimilarPair:
    first: str
    second: str
    similarity: float


def similar_pairs(code_by_student: dict[str, str], given: str = "", threshold: float = THRESHOLD,
                  min_tokens: int = MIN_TOKENS) -> list[SimilarPair]:
    """Every pair of students whose solution code is at least `threshold` similar, most similar first."""
    grams = {}
    for student, code in code_by_student.items():
        tokens = normalised_tokens(code, given)
        if len(tokens) >= min_tokens:
            grams[student] = ngrams(tokens)
    pairs = [SimilarPair(a, b, jaccard(grams[a], grams[b])) for a, b in itertools.combinations(sorted(grams), 2)]
    return sorted((p for p in pairs if p.similarity >= threshold), key=lambda p: -p.similarity)
