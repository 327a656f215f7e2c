"""embedlab.eval against gensim 4's evaluate_word_analogies / evaluate_word_pairs as oracle."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from embedlab.errors import FormatError, InvalidParameterError, MissingFileError
from embedlab.eval import (
    AnalogyResult,
    EvaluationError,
    default_analogies_path,
    default_word_pairs_path,
    evaluate_analogies,
    evaluate_word_pairs,
)
from embedlab.vectors import WordVectors

gensim_kv = pytest.importorskip("gensim.models.keyedvectors")

DIM = 16


def _unit(v: np.ndarray) -> np.ndarray:
    out: np.ndarray = v / np.linalg.norm(v)
    return out


def _to_gensim(wv: WordVectors) -> object:
    kv = gensim_kv.KeyedVectors(vector_size=wv.dim, count=0, dtype=np.float32)
    kv.add_vectors(list(wv.keys), wv.vectors.copy())
    return kv


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _planted_model(seed: int = 0) -> tuple[WordVectors, list[list[str]]]:
    """200 random words of random norms, and three sections of planted questions.

    Each question's answer d is b - a + c over unit vectors plus noise of a size that makes
    some questions right and some wrong; the last section also names unknown words.
    """
    rng = np.random.default_rng(seed)
    n = 200
    keys = [f"w{i:03d}" for i in range(n)]
    unit = np.array([_unit(v) for v in rng.standard_normal((n, DIM))])
    sections: list[list[str]] = [[], [], []]
    used: set[int] = set()
    for s, noise in enumerate((0.15, 0.6, 1.2)):
        for _ in range(20):
            a, b, c, d = rng.choice([i for i in range(n) if i not in used], size=4, replace=False)
            used.add(int(d))
            unit[d] = _unit(unit[b] - unit[a] + unit[c] + noise * rng.standard_normal(DIM))
            sections[s].append(f"{keys[a]} {keys[b]} {keys[c]} {keys[d]}")
    sections[2] += ["w001 unknownword w002 w003", "w004 w005 w006 alsounknown"]
    vectors = unit * rng.uniform(0.5, 3.0, size=(n, 1))
    return WordVectors(keys, vectors.astype(np.float32)), sections


def _analogy_file(tmp_path: Path, sections: list[list[str]], *, upper: bool = False) -> Path:
    lines: list[str] = []
    for s, questions in enumerate(sections):
        lines.append(f": section-{s}")
        lines += [q.upper() if upper else q for q in questions]
    return _write(tmp_path / "questions.txt", lines)


def _gensim_analogies(wv: WordVectors, path: Path, **kwargs: object) -> list[tuple[str, int, int]]:
    _, sections = _to_gensim(wv).evaluate_word_analogies(str(path), **kwargs)  # type: ignore[attr-defined]
    return [
        (s["section"], len(s["correct"]), len(s["correct"]) + len(s["incorrect"])) for s in sections
    ]


def _ours(result: AnalogyResult) -> list[tuple[str, int, int]]:
    rows = [(s.name, s.correct, s.answered) for s in result.sections]
    return [*rows, ("Total accuracy", result.correct, result.answered)]


# -- analogies ---------------------------------------------------------------------------


def test_exact_king_queen_analogy(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    man, woman, king = (_unit(v) for v in rng.standard_normal((3, DIM)))
    queen = king - man + woman
    distractors = rng.standard_normal((30, DIM))
    keys = ["man", "woman", "king", "queen"] + [f"x{i}" for i in range(30)]
    wv = WordVectors(keys, np.vstack([man, woman, king, queen, distractors]))
    path = _write(tmp_path / "q.txt", [": royals", "man woman king queen", "man king woman queen"])
    for method in ("add", "mul"):
        result = evaluate_analogies(wv, path, method=method)
        assert (result.correct, result.answered, result.skipped, result.total) == (2, 2, 0, 2)
        assert result.accuracy == 1.0


@pytest.mark.parametrize("restrict_vocab", [30000, 120])
@pytest.mark.parametrize("case_insensitive", [True, False])
def test_analogies_match_gensim(
    tmp_path: Path, restrict_vocab: int, case_insensitive: bool
) -> None:
    wv, sections = _planted_model()
    path = _analogy_file(tmp_path, sections)
    ours = evaluate_analogies(
        wv, path, restrict_vocab=restrict_vocab, case_insensitive=case_insensitive
    )
    expected = _gensim_analogies(
        wv, path, restrict_vocab=restrict_vocab, case_insensitive=case_insensitive
    )
    assert _ours(ours) == expected
    assert 0 < ours.correct < ours.answered  # the file really tells right from wrong
    assert ours.total == sum(len(q) for q in sections)
    assert ours.skipped == ours.total - ours.answered
    assert [s.skipped for s in ours.sections] == [
        len(q) - answered for q, (_, _, answered) in zip(sections, expected, strict=False)
    ]
    assert ours.accuracy == pytest.approx(ours.correct / ours.answered)
    if restrict_vocab == 30000:
        assert ours.skipped == 2


def test_restrict_vocab_skips_rare_words_and_ignores_rare_candidates(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    man, woman, king = (_unit(v) for v in rng.standard_normal((3, DIM)))
    target = _unit(king - man + woman)
    queen = target + 0.3 * _unit(rng.standard_normal(DIM))
    closer = target + 0.05 * _unit(rng.standard_normal(DIM))  # nearer the target than queen
    keys = ["man", "woman", "king", "queen", "f0", "f1", "closer", "rare"]
    others = rng.standard_normal((3, DIM))
    wv = WordVectors(keys, np.vstack([man, woman, king, queen, others[:2], closer, others[2]]))
    path = _write(tmp_path / "q.txt", [": s", "man woman king queen", "man woman king rare"])

    full = evaluate_analogies(wv, path, restrict_vocab=100)
    assert (full.correct, full.answered, full.skipped) == (0, 2, 0)  # "closer" wins
    top6 = evaluate_analogies(wv, path, restrict_vocab=6)
    assert (top6.correct, top6.answered, top6.skipped, top6.total) == (1, 1, 1, 2)
    top3 = evaluate_analogies(wv, path, restrict_vocab=3)
    assert (top3.answered, top3.skipped, top3.accuracy) == (0, 2, 0.0)
    for limit, result in ((100, full), (6, top6), (3, top3)):
        assert _ours(result) == _gensim_analogies(wv, path, restrict_vocab=limit)


def _case_model() -> WordVectors:
    rng = np.random.default_rng(3)
    man, woman, king = (_unit(v) for v in rng.standard_normal((3, DIM)))
    target = _unit(king - man + woman)
    queen = target + 0.2 * _unit(rng.standard_normal(DIM))
    keys = ["man", "woman", "king", "Queen", "queen", "KING", "King"]
    other = rng.standard_normal((2, DIM))
    # "King" (rarer spelling of an input word) points almost exactly at b - a + c.
    king_variant = target + 0.001 * _unit(rng.standard_normal(DIM))
    vectors = np.vstack([man, woman, king, other[0], queen, other[1], king_variant])
    distractors = rng.standard_normal((20, DIM))
    return WordVectors(keys + [f"d{i}" for i in range(20)], np.vstack([vectors, distractors]))


def test_case_folding_uses_most_frequent_spelling_and_excludes_input_variants(
    tmp_path: Path,
) -> None:
    wv = _case_model()
    lower = _write(tmp_path / "lower.txt", [": s", "man woman king queen"])
    upper = _write(tmp_path / "upper.txt", [": s", "MAN WOMAN KING QUEEN"])

    # Folded: KING means "king" (row 2, most frequent); "King" is excluded as a spelling of
    # an input; "queen" (row 4) is predicted, and it folds to QUEEN like the answer.
    for path in (lower, upper):
        folded = evaluate_analogies(wv, path)
        assert (folded.correct, folded.answered) == (1, 1)
        assert _ours(folded) == _gensim_analogies(wv, path, case_insensitive=True)

    # Case-sensitive: "King" is just another candidate and wins.
    exact = evaluate_analogies(wv, lower, case_insensitive=False)
    assert (exact.correct, exact.answered) == (0, 1)
    assert _ours(exact) == _gensim_analogies(wv, lower, case_insensitive=False)
    # Upper-case question words are unknown when case matters ("MAN" is not a key).
    skipped = evaluate_analogies(wv, upper, case_insensitive=False)
    assert (skipped.answered, skipped.skipped) == (0, 1)


def test_upper_case_file_matches_gensim_on_planted_model(tmp_path: Path) -> None:
    wv, sections = _planted_model(seed=4)
    path = _analogy_file(tmp_path, sections, upper=True)
    assert _ours(evaluate_analogies(wv, path)) == _gensim_analogies(wv, path)
    assert evaluate_analogies(wv, path, case_insensitive=False).answered == 0


def _brute_force_mul(wv: WordVectors, questions: list[str]) -> int:
    unit = wv.vectors.astype(np.float64)
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    correct = 0
    for question in questions:
        a, b, c, d = (wv.key_to_index[w] for w in question.split())
        best, best_score = -1, -np.inf
        for x in range(len(wv)):
            if x in (a, b, c):
                continue
            cos_a, cos_b, cos_c = ((unit[x] @ unit[w] + 1) / 2 for w in (a, b, c))
            score = cos_b * cos_c / (cos_a + 1e-3)
            if score > best_score:
                best, best_score = x, score
        correct += best == d
    return correct


def test_3cosmul_matches_brute_force(tmp_path: Path) -> None:
    wv, sections = _planted_model(seed=5)
    sections = [s[:20] for s in sections]  # known words only
    result = evaluate_analogies(wv, _analogy_file(tmp_path, sections), method="mul")
    assert [s.correct for s in result.sections] == [_brute_force_mul(wv, s) for s in sections]
    assert 0 < result.correct < result.answered
    assert result.skipped == 0


def test_batches_give_the_same_answer_as_one_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import embedlab.eval.analogy as analogy

    wv, sections = _planted_model(seed=6)
    path = _analogy_file(tmp_path, sections)
    whole = {m: evaluate_analogies(wv, path, method=m) for m in ("add", "mul")}
    monkeypatch.setattr(analogy, "_MAX_BATCH", 7)
    for method, expected in whole.items():
        assert evaluate_analogies(wv, path, method=method) == expected


def test_analogy_result_to_dict_is_json(tmp_path: Path) -> None:
    wv, sections = _planted_model()
    result = evaluate_analogies(wv, _analogy_file(tmp_path, sections))
    data = json.loads(json.dumps(result.to_dict()))
    assert data["correct"] == result.correct and data["total"] == result.total
    assert [s["name"] for s in data["sections"]] == ["section-0", "section-1", "section-2"]
    with pytest.raises(AttributeError):
        result.correct = 0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("lines", "bad_line"),
    [
        ([": s", "a b c d", "a b c"], 3),
        ([": s", "a b c d e"], 2),
        (["a b c d", ": s"], 1),
    ],
)
def test_malformed_analogy_file(tmp_path: Path, lines: list[str], bad_line: int) -> None:
    wv = WordVectors(list("abcde"), np.eye(5, dtype=np.float32))
    path = _write(tmp_path / "bad.txt", lines)
    with pytest.raises(FormatError) as info:
        evaluate_analogies(wv, path)
    assert info.value.line == bad_line
    assert info.value.path == str(path)
    assert f"line {bad_line}" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_blank_lines_are_ignored_and_empty_file_is_an_error(tmp_path: Path) -> None:
    wv = WordVectors(list("abcde"), np.eye(5, dtype=np.float32))
    result = evaluate_analogies(wv, _write(tmp_path / "q.txt", [": s", "", "a b c d", "  "]))
    assert result.total == 1
    with pytest.raises(FormatError, match="no analogy questions"):
        evaluate_analogies(wv, _write(tmp_path / "empty.txt", [": only a header"]))


def test_analogy_parameter_errors(tmp_path: Path) -> None:
    wv = WordVectors(list("abcd"), np.eye(4, dtype=np.float32))
    path = _write(tmp_path / "q.txt", [": s", "a b c d"])
    for bad in (0, -5, "10", 2.5, True):
        with pytest.raises(InvalidParameterError, match="restrict_vocab"):
            evaluate_analogies(wv, path, restrict_vocab=bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'add', 'mul'"):
        evaluate_analogies(wv, path, method="sub")
    with pytest.raises(MissingFileError):
        evaluate_analogies(wv, tmp_path / "missing.txt")


# -- word pairs ---------------------------------------------------------------------------


def _pairs_model(seed: int = 7) -> tuple[WordVectors, list[str]]:
    rng = np.random.default_rng(seed)
    keys = [f"p{i:02d}" for i in range(40)] + ["Tiger", "tiger", "CAT"]
    vectors = rng.standard_normal((len(keys), DIM)).astype(np.float32)
    lines = ["# a comment", "# word1\tword2\tscore"]
    for _ in range(30):
        i, j = rng.choice(40, size=2, replace=False)
        cosine = _unit(vectors[i]) @ _unit(vectors[j])
        lines.append(f"p{i:02d}\tp{j:02d}\t{5 + 4 * cosine + rng.normal(0, 1):.2f}")
    lines += ["tiger\tcat\t7.35", "TIGER\tp01\t2.5", "p02\tunknown\t3.0", "p39\tp38\t1.25"]
    return WordVectors(keys, vectors), lines


@pytest.mark.parametrize("restrict_vocab", [300000, 30])
@pytest.mark.parametrize("case_insensitive", [True, False])
def test_word_pairs_match_gensim(
    tmp_path: Path, restrict_vocab: int, case_insensitive: bool
) -> None:
    wv, lines = _pairs_model()
    path = _write(tmp_path / "pairs.tsv", lines)
    ours = evaluate_word_pairs(
        wv, path, restrict_vocab=restrict_vocab, case_insensitive=case_insensitive
    )
    pearson, spearman, oov_percent = _to_gensim(wv).evaluate_word_pairs(  # type: ignore[attr-defined]
        str(path), restrict_vocab=restrict_vocab, case_insensitive=case_insensitive
    )
    assert ours.spearman == pytest.approx(spearman[0], abs=1e-5)
    assert ours.pearson == pytest.approx(pearson[0], abs=1e-5)
    assert ours.spearman_pvalue == pytest.approx(spearman[1], rel=1e-3, abs=1e-8)
    assert ours.pearson_pvalue == pytest.approx(pearson[1], rel=1e-3, abs=1e-8)
    assert 100 * ours.oov_ratio == pytest.approx(oov_percent)
    assert ours.pairs + ours.oov_pairs == len(lines) - 2
    assert ours.oov_ratio == pytest.approx(ours.oov_pairs / (len(lines) - 2))
    if case_insensitive and restrict_vocab > 43:
        assert ours.oov_pairs == 1  # only "unknown"
    if not case_insensitive:
        assert ours.oov_pairs >= 3  # "cat", "TIGER", "unknown"
    assert json.loads(json.dumps(ours.to_dict())) == ours.to_dict()


def test_word_pairs_case_folding_takes_most_frequent_spelling(tmp_path: Path) -> None:
    keys = ["Tiger", "tiger", "cat", "dog"]
    vectors = np.array([[1, 0], [0, 1], [1, 0.1], [0.1, 1]], dtype=np.float32)
    wv = WordVectors(keys, vectors)
    path = _write(tmp_path / "p.tsv", ["tiger\tcat\t9", "tiger\tdog\t1", "cat\tdog\t2"])
    folded = evaluate_word_pairs(wv, path)  # TIGER -> "Tiger" = [1, 0], close to cat
    exact = evaluate_word_pairs(wv, path, case_insensitive=False)  # "tiger" = [0, 1]
    assert folded.spearman == pytest.approx(1.0)
    assert exact.spearman == pytest.approx(-1.0)


def test_word_pairs_errors(tmp_path: Path) -> None:
    wv, _ = _pairs_model()
    cases = [
        (["# c", "p01\tp02\t3.0", "p01\tp02"], 3),
        (["p01\tp02\t3.0", "p01\tp02\t3.0\textra"], 2),
        (["# c", "# c", "p01\tp02\tlots"], 3),
        (["p01\tp02\tnan"], 1),
        (["p01 p02 3.0"], 1),  # spaces, not tabs
    ]
    for lines, bad_line in cases:
        with pytest.raises(FormatError) as info:
            evaluate_word_pairs(wv, _write(tmp_path / "bad.tsv", lines))
        assert info.value.line == bad_line
        assert f"line {bad_line}" in str(info.value)

    one = _write(tmp_path / "one.tsv", ["p01\tp02\t3.0", "p01\tnope\t3.0"])
    with pytest.raises(EvaluationError, match="at least 2") as err:
        evaluate_word_pairs(wv, one)
    assert isinstance(err.value, ValueError)
    flat = _write(tmp_path / "flat.tsv", ["p01\tp02\t3.0", "p03\tp04\t3.0", "p05\tp06\t3.0"])
    with pytest.raises(EvaluationError, match="equal"):
        evaluate_word_pairs(wv, flat)
    with pytest.raises(InvalidParameterError, match="restrict_vocab"):
        evaluate_word_pairs(wv, one, restrict_vocab=0)
    with pytest.raises(InvalidParameterError, match="delimiter"):
        evaluate_word_pairs(wv, one, delimiter="")


def test_word_pairs_whitespace_delimiter(tmp_path: Path) -> None:
    wv, lines = _pairs_model()
    tabs = evaluate_word_pairs(wv, _write(tmp_path / "t.tsv", lines))
    spaced = [line.replace("\t", "  ") for line in lines]
    assert evaluate_word_pairs(wv, _write(tmp_path / "s.txt", spaced), delimiter=None) == tabs


# -- packaged files ------------------------------------------------------------------------


def test_packaged_analogies_load() -> None:
    path = default_analogies_path()
    assert path.name == "questions-words.txt" and path.is_file()
    wv = WordVectors(["athens", "greece"], np.eye(2, dtype=np.float32))
    result = evaluate_analogies(wv)  # path=None: the packaged file
    assert result.total == 19544
    assert len(result.sections) == 14
    assert result.sections[0].name == "capital-common-countries"
    assert (result.answered, result.skipped) == (0, 19544)


def test_packaged_word_pairs_load_and_match_gensim() -> None:
    path = default_word_pairs_path()
    assert path.name == "wordsim353.tsv" and path.is_file()
    data = [
        line.split("\t")
        for line in path.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]
    assert len(data) == 353
    words = list(dict.fromkeys(w for row in data for w in row[:2]))
    rng = np.random.default_rng(8)
    wv = WordVectors(words, rng.standard_normal((len(words), DIM)).astype(np.float32))
    ours = evaluate_word_pairs(wv)
    assert (ours.pairs, ours.oov_pairs, ours.oov_ratio) == (353, 0, 0.0)
    pearson, spearman, _ = _to_gensim(wv).evaluate_word_pairs(str(path))  # type: ignore[attr-defined]
    assert ours.spearman == pytest.approx(spearman[0], abs=1e-5)
    assert ours.pearson == pytest.approx(pearson[0], abs=1e-5)


@pytest.mark.slow
def test_packaged_analogies_match_gensim_in_full() -> None:
    rng = np.random.default_rng(9)
    vectors: dict[str, np.ndarray] = {}
    offset = np.zeros(32)
    for line in default_analogies_path().read_text(encoding="utf-8").splitlines():
        if line.startswith(":"):
            offset = rng.standard_normal(32)  # one relation per section
            continue
        words = line.lower().split()
        for first, second in (words[:2], words[2:]):
            start = vectors.setdefault(first, rng.standard_normal(32))
            noise = 0.5 * rng.standard_normal(32)
            vectors.setdefault(second, start + offset + noise)
    wv = WordVectors(list(vectors), np.array(list(vectors.values()), dtype=np.float32))
    ours = evaluate_analogies(wv, restrict_vocab=300000)
    assert (ours.total, ours.answered) == (19544, 19544)  # the file's capitals fold to keys
    assert 0.05 < ours.accuracy < 0.95
    assert _ours(ours) == _gensim_analogies(wv, default_analogies_path())
