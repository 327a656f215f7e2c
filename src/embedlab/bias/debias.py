"""Hard debiasing (Bolukbasi et al. 2016): neutralise, then equalise, into NEW vectors.

1. Every vector is scaled to unit length (as in the paper).
2. *Neutralise*: each neutral word loses its component along the bias direction g and is
   scaled back to unit length, so ``cos(w, g) = 0`` afterwards. Neutral words are the
   ones given, or by default every word that is not gender-specific (the words of the
   definitional and equalise pairs plus ``specific``; the paper also grows that list with
   a classifier, which is not done here).
3. *Equalise*: each pair (a, b) is moved to the same point off the direction,
   ``a = nu + z g``, ``b = nu - z g`` with ``nu`` the pair's mean without its g component
   and ``z = sqrt(1 - |nu|^2)`` signed as ``(a - b)·g``, so both words are equally far
   from every neutral word.

The input is never changed; :func:`hard_debias` returns a new WordVectors. As Gonen and
Goldberg 2019 showed, this hides bias from the direction without removing it; see
:mod:`embedlab.bias.hidden`.

Example:
    >>> import numpy as np
    >>> from embedlab.vectors import WordVectors
    >>> wv = WordVectors(["she", "he", "nurse"], [[1, 1, 0], [-1, 1, 0], [0.5, 0, 1]])
    >>> out = hard_debias(wv, np.array([1.0, 0, 0]), equalize=[("she", "he")])
    >>> round(float(out.vectors["nurse"][0]), 6), out.vectors is not wv
    (0.0, True)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from embedlab.bias.direction import GENDER_PAIRS, BiasDirection, bias_direction
from embedlab.bias.source import as_word_vectors
from embedlab.bias.weat import WeatResult, weat
from embedlab.bias.wordsets import WeatTest
from embedlab.errors import DimensionMismatchError
from embedlab.vectors import WordVectors

__all__ = [
    "EQUALIZE_PAIRS",
    "GENDER_SPECIFIC",
    "DebiasResult",
    "WeatComparison",
    "compare_weat",
    "hard_debias",
]

EQUALIZE_PAIRS: tuple[tuple[str, str], ...] = tuple(
    (f, m)
    for f, m in (
        ("convent", "monastery"), ("spokeswoman", "spokesman"), ("nun", "priest"),
        ("mom", "dad"), ("women", "men"), ("councilwoman", "councilman"),
        ("grandma", "grandpa"), ("granddaughters", "grandsons"), ("estrogen", "testosterone"),
        ("aunt", "uncle"), ("wives", "husbands"), ("mother", "father"), ("she", "he"),
        ("girl", "boy"), ("girls", "boys"), ("sister", "brother"), ("sisters", "brothers"),
        ("businesswoman", "businessman"), ("chairwoman", "chairman"), ("filly", "colt"),
        ("congresswoman", "congressman"), ("moms", "dads"), ("gals", "dudes"),
        ("motherhood", "fatherhood"), ("mothers", "fathers"), ("sorority", "fraternity"),
        ("mare", "gelding"), ("lady", "gentleman"), ("ladies", "gentlemen"),
        ("grandmother", "grandfather"), ("granddaughter", "grandson"), ("herself", "himself"),
        ("her", "his"), ("queen", "king"), ("queens", "kings"), ("female", "male"),
        ("females", "males"), ("woman", "man"), ("niece", "nephew"), ("princess", "prince"),
        ("schoolgirl", "schoolboy"), ("daughter", "son"), ("daughters", "sons"),
    )
)  # fmt: skip
"""Bolukbasi et al. 2016's equalise pairs (their ``equalize_pairs``), single words, lower case."""

GENDER_SPECIFIC: tuple[str, ...] = (
    "actress", "actor", "bride", "groom", "wife", "husband", "widow", "widower", "heroine",
    "hero", "hostess", "host", "waitress", "waiter", "mistress", "master", "duchess", "duke",
    "empress", "emperor", "goddess", "god", "lass", "lad", "maiden", "sir", "madam", "ma'am",
    "hers", "her", "him", "his", "she", "he", "girlfriend", "boyfriend", "feminine",
    "masculine", "womb", "pregnancy", "pregnant", "beard", "fraternal", "maternal",
    "paternal", "maternity", "paternity", "sons", "daughters", "mr", "mrs", "ms", "miss",
)  # fmt: skip
"""Further gender-specific words kept out of neutralising (from Bolukbasi et al.'s seed list)."""


@dataclass(frozen=True)
class DebiasResult:
    """The new vectors, the direction used, and what was neutralised and equalised."""

    vectors: WordVectors
    direction: np.ndarray
    neutralised: int
    equalised: tuple[tuple[str, str], ...]

    def describe(self) -> str:
        """What was done, in plain words."""
        return (
            f"Hard debiasing (Bolukbasi et al. 2016): {self.neutralised:,} words were "
            "neutralised (their component along the bias direction removed, so their "
            f"cosine with it is 0) and {len(self.equalised)} pairs equalised (each pair "
            "made equally distant from every neutral word). All vectors are unit length. "
            "A zero projection does not make a model fair: see the hidden-bias check."
        )


def hard_debias(
    source: object,
    direction: BiasDirection | np.ndarray | None = None,
    *,
    neutral: Iterable[str] | None = None,
    specific: Iterable[str] = GENDER_SPECIFIC,
    definitional: Sequence[Sequence[str]] = GENDER_PAIRS,
    equalize: Sequence[Sequence[str]] = EQUALIZE_PAIRS,
) -> DebiasResult:
    """Neutralise and equalise ``source`` along ``direction`` into a new WordVectors.

    ``direction`` defaults to :func:`bias_direction` of ``definitional``. Equalise pairs
    are tried as written, in lower case, capitalised and in upper case (as the paper);
    pairs with a word not in the vocabulary are skipped.

    Example:
        >>> import numpy as np
        >>> wv = {"she": [1, 1], "he": [-1, 1.5], "doctor": [0.3, 1]}
        >>> r = hard_debias(wv, np.array([1.0, 0.0]), equalize=[("she", "he")])
        >>> [[round(float(v), 3) for v in r.vectors[w]] for w in ("she", "he", "doctor")]
        [[0.639, 0.77], [-0.639, 0.77], [0.0, 1.0]]
    """
    wv = as_word_vectors(source)
    if direction is None:
        direction = bias_direction(wv, definitional)
    g = np.asarray(
        direction.vector if isinstance(direction, BiasDirection) else direction, np.float64
    )
    if g.shape != (wv.dim,):
        raise DimensionMismatchError(
            f"the bias direction must have the model's {wv.dim} dimensions; got shape {g.shape}"
        )
    g = g / np.linalg.norm(g)
    vectors = wv.unit_vectors.astype(np.float64)  # a copy: the source stays as it was
    pairs = [(str(p[0]), str(p[1])) for p in equalize]
    if neutral is None:
        keep = {w for p in (*pairs, *definitional) for w in p} | set(specific)
        rows = np.array([i for i, k in enumerate(wv.keys) if k.lower() not in keep], np.int64)
    else:
        rows = np.array(sorted({wv.get_index(w) for w in neutral if w in wv}), np.int64)
    if len(rows):
        sub = vectors[rows]
        sub -= np.outer(sub @ g, g)
        norms = np.linalg.norm(sub, axis=1, keepdims=True)
        vectors[rows] = np.divide(sub, norms, out=np.zeros_like(sub), where=norms > 0)
    done = []
    for a, b in pairs:
        for fa, fb in dict.fromkeys(
            [(a, b), (a.lower(), b.lower()), (a.title(), b.title()), (a.upper(), b.upper())]
        ):
            if fa not in wv or fb not in wv:
                continue
            ia, ib = wv.get_index(fa), wv.get_index(fb)
            mean = (vectors[ia] + vectors[ib]) / 2
            nu = mean - (mean @ g) * g
            z = np.sqrt(max(0.0, 1.0 - float(nu @ nu)))
            if (vectors[ia] - vectors[ib]) @ g < 0:
                z = -z
            vectors[ia], vectors[ib] = nu + z * g, nu - z * g
            done.append((fa, fb))
    new = WordVectors(
        wv.keys, vectors.astype(np.float32), counts=wv.counts, config={**wv.config, "debiased": 1}
    )
    return DebiasResult(new, g.astype(np.float32), len(rows), tuple(done))


@dataclass(frozen=True)
class WeatComparison:
    """One WEAT test before and after debiasing."""

    before: WeatResult
    after: WeatResult

    def describe(self) -> str:
        """The two effect sizes side by side, in plain words."""
        b, a = self.before, self.after
        return (
            f"{b.test}: effect size {b.effect_size:+.3f} (p {b.p_value:.3g}) before, "
            f"{a.effect_size:+.3f} (p {a.p_value:.3g}) after debiasing"
        )


def compare_weat(
    before: object, after: object, tests: Iterable[WeatTest], **options: object
) -> list[WeatComparison]:
    """Each test run on both sources (same options, same seed), side by side.

    Example:
        >>> from embedlab.bias.wordsets import weat_test
        >>> [c.before.test for c in compare_weat({}, {}, [])]
        []
    """
    return [
        WeatComparison(weat(before, t, **options), weat(after, t, **options))  # type: ignore[arg-type]
        for t in tests
    ]
