"""embedlab.analysis.classify against scikit-learn on the same folds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import KNeighborsClassifier

from embedlab.analysis import Classifier, cross_validate, fit_classifier, macro_f1
from embedlab.encoders.static import StaticEncoder
from embedlab.errors import DimensionMismatchError, InvalidParameterError, MissingFileError
from embedlab.vectors import WordVectors


def _data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three overlapping classes in 10-D (so the classifiers make some mistakes)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(3, 10))
    y = rng.integers(0, 3, size=300)
    x = centres[y] + 1.2 * rng.normal(size=(300, 10))
    return x.astype(np.float32), np.array(["red", "green", "blue"])[y]


@pytest.mark.parametrize("kind", ["logistic", "knn"])
def test_predictions_equal_scikit_learn_on_the_same_folds(kind: str) -> None:
    x, y = _data()
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    accs = []
    for train, test in folds.split(x, y):
        ours = fit_classifier(x[train], list(y[train]), kind=kind, k=7)
        if kind == "logistic":
            ref = LogisticRegression(max_iter=1000).fit(u[train], y[train])
        else:
            ref = KNeighborsClassifier(7, metric="cosine", algorithm="brute").fit(
                x[train], y[train]
            )
        expected = ref.predict(u[test] if kind == "logistic" else x[test])
        got = np.array(ours.predict(x[test]))
        assert (got == expected).mean() >= 0.99  # equal up to exact-tie order
        accs.append((expected == y[test]).mean())
    cv = cross_validate(x, list(y), kind=kind, folds=5, seed=0, k=7)
    assert cv.accuracy == pytest.approx(np.mean(accs), abs=0.01)
    assert 0.5 < cv.accuracy < 1.0  # the check is not vacuous


def test_macro_f1_equals_scikit_learn() -> None:
    rng = np.random.default_rng(1)
    t, p = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    assert macro_f1(t, p) == pytest.approx(f1_score(t, p, average="macro"))


@pytest.mark.parametrize("kind", ["logistic", "knn"])
def test_save_load_round_trip_without_pickle(tmp_path: Path, kind: str) -> None:
    x, y = _data(2)
    clf = fit_classifier(x, list(y), kind=kind, encoder="static:somewhere")
    clf.save(tmp_path / "clf")
    assert sorted(p.name for p in (tmp_path / "clf").iterdir())[0] == "classifier.json"
    back = Classifier.load(tmp_path / "clf")
    assert back.predict(x) == clf.predict(x)
    assert back.encoder == "static:somewhere" and back.classes == ("blue", "green", "red")
    for f in (tmp_path / "clf").glob("*.npy"):
        np.load(f, allow_pickle=False)  # plain arrays


def test_predict_texts_through_an_encoder() -> None:
    wv = WordVectors(["cat", "dog", "car", "bus"], np.eye(4, dtype=np.float32))
    enc = StaticEncoder(wv)
    texts = ["cat", "dog cat", "car", "bus car"]
    clf = fit_classifier(enc.encode(texts), ["animal", "animal", "vehicle", "vehicle"])
    assert clf.predict_texts(["a dog", "the bus"], enc) == ["animal", "vehicle"]
    with pytest.raises(InvalidParameterError, match="names no encoder"):
        clf.predict_texts(["a dog"])


def test_bad_input() -> None:
    x, y = _data()
    with pytest.raises(InvalidParameterError, match="at least 2 classes; got only \\('a',\\)"):
        fit_classifier(x, ["a"] * len(x))
    with pytest.raises(InvalidParameterError, match="300 rows, 2 labels"):
        fit_classifier(x, ["a", "b"])
    with pytest.raises(InvalidParameterError, match="smallest class has 1"):
        cross_validate(x, ["a"] + ["b"] * 299)
    with pytest.raises(DimensionMismatchError, match="dimension 10"):
        fit_classifier(x, list(y)).predict(np.zeros((2, 3)))
    with pytest.raises(MissingFileError, match="no classifier"):
        Classifier.load("/nonexistent/clf")
