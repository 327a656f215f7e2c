"""Classifiers on embeddings: k-NN (faiss) and logistic regression (scikit-learn).

A fitted :class:`Classifier` predicts from vectors with numpy (and faiss for k-NN) only;
it is saved as a folder of plain files, never a pickle: ``classifier.json`` (kind,
classes, settings, encoder name) with ``coef.npy`` + ``intercept.npy`` (logistic) or
``vectors.npy`` + ``labels.npy`` (k-NN). :func:`cross_validate` reports accuracy and
macro-F1 over stratified folds.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from embedlab._validation import StrEnumOption, check_float, check_int
from embedlab.analysis._deps import require
from embedlab.analysis._source import as_source, unit_rows
from embedlab.analysis.neighbors import knn_search
from embedlab.errors import FormatError, InvalidParameterError, MissingFileError

__all__ = [
    "Classifier",
    "ClassifierKind",
    "CrossValidation",
    "cross_validate",
    "fit_classifier",
    "macro_f1",
]

_FORMAT = 1


class ClassifierKind(StrEnumOption):
    """The classifier: majority vote of the k nearest rows, or logistic regression."""

    KNN = "knn"
    LOGISTIC = "logistic"


@dataclass(frozen=True)
class Classifier:
    """A fitted classifier over unit-normalised embeddings (cosine geometry).

    ``arrays`` holds ``coef``/``intercept`` (logistic) or ``vectors``/``labels`` (k-NN,
    labels as indices into ``classes``).
    """

    kind: ClassifierKind
    classes: tuple[str, ...]
    arrays: dict[str, npt.NDArray[Any]] = field(repr=False)
    k: int = 10
    c: float = 1.0
    encoder: str | None = None

    @property
    def dim(self) -> int:
        """The vector width it was fitted on."""
        key = "coef" if self.kind is ClassifierKind.LOGISTIC else "vectors"
        return int(self.arrays[key].shape[1])

    def scores(self, vectors: npt.ArrayLike) -> npt.NDArray[np.float32]:
        """One row of class scores per vector (logits, or k-NN vote counts)."""
        x = unit_rows(_matrix(vectors, self.dim))
        if self.kind is ClassifierKind.LOGISTIC:
            logits = x @ self.arrays["coef"].T + self.arrays["intercept"]
            if logits.shape[1] == 1:  # binary: one column for the second class
                logits = np.hstack([-logits, logits])
            return np.asarray(logits, dtype=np.float32)
        base = self.arrays["vectors"]
        _, idx = knn_search(base, x, min(self.k, len(base)))
        votes = np.zeros((len(x), len(self.classes)), dtype=np.float32)
        np.add.at(votes, (np.repeat(np.arange(len(x)), idx.shape[1]),
                          self.arrays["labels"][idx].ravel()), 1.0)  # fmt: skip
        return votes

    def predict(self, vectors: npt.ArrayLike) -> list[str]:
        """The predicted class of each vector (ties: the class listed first).

        Example:
            >>> import numpy as np
            >>> x = np.array([[1, 0], [0.9, 0.2], [0, 1], [0.1, 0.9]])
            >>> clf = fit_classifier(x, ["a", "a", "b", "b"], kind="knn", k=1)
            >>> clf.predict([[1, 0.1], [0, 2]])
            ['a', 'b']
        """
        best = self.scores(vectors).argmax(axis=1)
        return [self.classes[i] for i in best.tolist()]

    def predict_texts(self, texts: Sequence[str], encoder: Any = None) -> list[str]:
        """Encode texts (with ``encoder``, or the one named at fit time) and predict."""
        if encoder is None:
            if self.encoder is None:
                raise InvalidParameterError(
                    "this classifier names no encoder; pass encoder= to predict texts"
                )
            from embedlab.encoders import load

            encoder = load(self.encoder)
        return self.predict(encoder.encode(list(texts)))

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the folder: classifier.json and one .npy per array (no pickle)."""
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        for name, array in self.arrays.items():
            np.save(folder / f"{name}.npy", array, allow_pickle=False)
        config = {"format": _FORMAT, "kind": self.kind.value, "classes": list(self.classes),
                  "k": self.k, "c": self.c, "encoder": self.encoder,
                  "arrays": sorted(self.arrays)}  # fmt: skip
        (folder / "classifier.json").write_text(json.dumps(config, indent=2) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Classifier:
        """Read a folder written by :meth:`save`."""
        folder = Path(path)
        config_path = folder / "classifier.json"
        if not config_path.is_file():
            raise MissingFileError(f"no classifier at {folder} (expected {config_path.name})")
        try:
            config = json.loads(config_path.read_text())
            kind = ClassifierKind.parse(config["kind"], name="kind")
            arrays = {n: np.load(folder / f"{n}.npy", allow_pickle=False)
                      for n in config["arrays"]}  # fmt: skip
            return cls(kind, tuple(config["classes"]), arrays, int(config["k"]),
                       float(config["c"]), config.get("encoder"))  # fmt: skip
        except (KeyError, TypeError, ValueError, OSError) as exc:
            raise FormatError(f"not a saved classifier: {exc}", path=str(config_path)) from None


@dataclass(frozen=True)
class CrossValidation:
    """Accuracy and macro-F1 of each fold, and their means."""

    kind: ClassifierKind
    accuracy: float
    macro_f1: float
    fold_accuracy: tuple[float, ...]
    fold_macro_f1: tuple[float, ...]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {"kind": self.kind.value, "accuracy": self.accuracy, "macro_f1": self.macro_f1,
                "fold_accuracy": list(self.fold_accuracy),
                "fold_macro_f1": list(self.fold_macro_f1), "seconds": self.seconds}  # fmt: skip


def fit_classifier(
    data: Any,
    labels: Sequence[Any] | str,
    *,
    kind: ClassifierKind | str = "logistic",
    k: int = 10,
    c: float = 1.0,
    encoder: str | None = None,
    max_iter: int = 1000,
) -> Classifier:
    """Fit a classifier; ``labels`` is one label per row, or a metadata key of the source.

    Example:
        >>> import numpy as np
        >>> x = np.array([[1, 0], [0.9, 0.2], [0, 1], [0.1, 0.9]])
        >>> fit_classifier(x, ["a", "a", "b", "b"]).predict([[2, 0.1]])
        ['a']
    """
    src = as_source(data)
    y_text = _labels(src, labels)
    kind = ClassifierKind.parse(kind, name="kind")
    k = check_int("k", k)
    c = check_float("c", c, inclusive_min=False)
    classes = tuple(sorted(set(y_text)))
    if len(classes) < 2:
        raise InvalidParameterError(
            f"a classifier needs labels of at least 2 classes; got only {classes!r}"
        )
    index = {name: i for i, name in enumerate(classes)}
    y = np.array([index[v] for v in y_text], dtype=np.int64)
    x = unit_rows(src.vectors)
    arrays: dict[str, npt.NDArray[Any]]
    if kind is ClassifierKind.KNN:
        arrays = {"vectors": x, "labels": y}
    else:
        linear = require("sklearn.linear_model", "logistic regression")
        model = linear.LogisticRegression(C=c, max_iter=max_iter).fit(x, y)
        arrays = {"coef": model.coef_.astype(np.float32),
                  "intercept": model.intercept_.astype(np.float32)}  # fmt: skip
    return Classifier(kind, classes, arrays, k, c, encoder)


def cross_validate(
    data: Any,
    labels: Sequence[Any] | str,
    *,
    kind: ClassifierKind | str = "logistic",
    folds: int = 5,
    seed: int = 0,
    **options: Any,
) -> CrossValidation:
    """Stratified k-fold accuracy and macro-F1 (scikit-learn's folds, our classifier).

    Example:
        >>> import numpy as np
        >>> x = np.array([[1, 0], [0.9, 0.2], [0, 1], [0.1, 0.9]] * 3)
        >>> cross_validate(x, ["a", "a", "b", "b"] * 3, folds=2).accuracy
        1.0
    """
    src = as_source(data)
    y = np.array([str(v) for v in _labels(src, labels)])
    folds = check_int("folds", folds, minimum=2)
    _, counts = np.unique(y, return_counts=True)
    if len(counts) < 2:
        raise InvalidParameterError(f"cross-validation needs 2 or more classes; got {set(y)}")
    if counts.min() < folds:
        raise InvalidParameterError(
            f"folds={folds} needs every class to have at least {folds} rows; the smallest "
            f"class has {counts.min()}"
        )
    selection = require("sklearn.model_selection", "cross-validation")
    splitter = selection.StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    started = time.perf_counter()
    accs, f1s = [], []
    for train, test in splitter.split(src.vectors, y):
        clf = fit_classifier(src.vectors[train], list(y[train]), kind=kind, **options)
        pred = np.array(clf.predict(src.vectors[test]))
        accs.append(float((pred == y[test]).mean()))
        f1s.append(macro_f1(y[test], pred))
    return CrossValidation(ClassifierKind.parse(kind, name="kind"), float(np.mean(accs)),
                           float(np.mean(f1s)), tuple(accs), tuple(f1s),
                           time.perf_counter() - started)  # fmt: skip


def macro_f1(truth: npt.ArrayLike, predicted: npt.ArrayLike) -> float:
    """The unweighted mean F1 over the classes present in truth or predictions.

    Example:
        >>> macro_f1(["a", "a", "b"], ["a", "b", "b"])
        0.6666666666666666
    """
    t, p = np.asarray(truth), np.asarray(predicted)
    scores = []
    for cls in np.union1d(t, p):
        tp = float(((p == cls) & (t == cls)).sum())
        denom = float((p == cls).sum() + (t == cls).sum())
        scores.append(2 * tp / denom if denom else 0.0)
    return float(np.mean(scores))


def _labels(src: Any, labels: Sequence[Any] | str) -> list[str]:
    values = src.labels(labels) if isinstance(labels, str) else list(labels)
    if len(values) != len(src):
        raise InvalidParameterError(f"one label per row: {len(src)} rows, {len(values)} labels")
    return [str(v) for v in values]


def _matrix(vectors: npt.ArrayLike, dim: int) -> npt.NDArray[np.float32]:
    x = np.asarray(vectors, dtype=np.float32)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2 or x.shape[1] != dim:
        from embedlab.errors import DimensionMismatchError

        raise DimensionMismatchError(
            f"expected vectors of dimension {dim} (the classifier's), got shape {x.shape}"
        )
    return x
