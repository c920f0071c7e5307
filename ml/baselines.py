"""LightGBM baselines on the same split and users as the neural models.

- ``gbm_stats``: the selected numeric features (raw; LightGBM handles missing values) and the
  encoded categoricals, the tree model the seed system compares against. The tree scores every
  credit model reads (``ml.tree_scores``) come from the same inputs with fewer, larger trees
  (``stacked_tree_scores``, cross-fitted by training month for the training rows);
- ``gbm_text``: the same plus a bag of words of the user-month's field texts that is a fair
  rival for a model that reads text: TF-IDF of word 1-2 grams and character 3-5 grams, fitted
  on the training months, turned by linear models into per-task text scores, out of fold on
  the training rows (the folds of the credit model's text read-outs,
  ``ml.dataset.cross_fitting_folds``: a row's score never saw its own label), and stacked into
  LightGBM.
"""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer
from sklearn.linear_model import LogisticRegression, Ridge

from ml.configs import BaselineConfig, GbmConfig, TreeScoreConfig
from ml.dataset import LABEL_COLUMNS
from ml.preprocessing import Preprocessing
from ml.tree_scores import N_TREE_SCORES, TreeScores, raw_scores, tabular


TARGET_COLUMNS = list(LABEL_COLUMNS.values())  # the label columns, in task order
PARALLEL_FOLDS_MAX_BYTES = 1 << 30  # TF-IDF values above this (~270M entries, ~80k users) fit folds in one process


@dataclass
class BaselinePredictions:
    risk_prob: np.ndarray
    age_prob: np.ndarray  # (N, 4)
    income: np.ndarray  # normalised


class TextScores:
    """TF-IDF of the user-month's field texts + one linear model per task.

    A user-month's document is every field key of its records. Word 1-2 grams and character
    3-5 grams (within words) never cross a key boundary, so the document's n-gram counts are
    the key-count-weighted sum of each distinct key's counts: ``counts = U @ K`` with U the
    (user-months x keys) slot counts and K the (keys x n-grams) counts of each key, computed
    once per key. Vocabulary and IDF come from the training months only.
    """

    def __init__(self, config: BaselineConfig, text_keys: list[str], prep: Preprocessing) -> None:
        self.config, self.prep = config, prep
        self.keys = pd.Index(text_keys)
        self.word = CountVectorizer(ngram_range=(1, 2), max_features=config.tfidf_word_max_features, min_df=2)
        self.char = CountVectorizer(analyzer="char_wb", ngram_range=(3, 5), max_features=config.tfidf_char_max_features, min_df=3)
        self.tfidf = TfidfTransformer(sublinear_tf=True)

    def key_counts(self, frame: pd.DataFrame) -> sparse.csr_matrix:
        """(user-months x keys) number of slots holding each key."""
        rows, _, _, keys = self.prep.text_slots(frame)
        columns = self.keys.get_indexer(keys)
        return sparse.csr_matrix((np.ones(len(rows), np.float32), (rows, columns)), shape=(len(frame), len(self.keys)))

    def _linear(self):
        return LogisticRegression(C=1.0, max_iter=300), LogisticRegression(C=1.0, max_iter=300), Ridge(alpha=3.0)

    def _scores(self, models, x) -> np.ndarray:
        risk, age, income = models
        age_scores = np.full((x.shape[0], 4), np.log(1e-6))  # a bucket no training row of the fold had
        age_scores[:, age.classes_.astype(np.int64)] = age.predict_log_proba(x)
        return np.column_stack([risk.decision_function(x), age_scores, income.predict(x)])

    def _fit(self, x: sparse.csr_matrix, rows: np.ndarray, labels: pd.DataFrame):
        """The three linear models on ``x[rows]``, each sliced here in the worker to its labelled rows."""
        models = self._linear()
        for model, column in zip(models, TARGET_COLUMNS):
            labelled = rows[labels[column].notna().to_numpy()[rows]]
            model.fit(x[labelled], labels[column].to_numpy()[labelled])
        return models

    def fit_out_of_fold(self, train: pd.DataFrame, fold_of_row: np.ndarray) -> np.ndarray:
        """Fit vocabulary, IDF and the linear models on the training months; their out-of-fold scores."""
        counts = self.key_counts(train)
        seen = np.flatnonzero(np.asarray(counts.sum(axis=0)).ravel() > 0)
        self.word.fit(self.keys[seen])
        self.char.fit(self.keys[seen])
        # float32 throughout: at 100k users the training matrix holds ~340M n-gram entries
        self.key_ngrams = sparse.hstack([self.word.transform(self.keys), self.char.transform(self.keys)]).tocsr().astype(np.float32)
        document_ngrams = counts @ self.key_ngrams
        x = self.tfidf.fit(document_ngrams).transform(document_ngrams, copy=False)  # scaled in place: no second matrix
        labels = train[TARGET_COLUMNS].reset_index(drop=True)
        oof = np.zeros((len(train), 6))
        folds = [(np.flatnonzero(fold_of_row != k), np.flatnonzero(fold_of_row == k)) for k in np.unique(fold_of_row)]
        # the folds' fits and the final one are independent: one per core (each solver is
        # single-threaded). joblib memory-maps x's arrays once for both workers; each slices its
        # rows. A large matrix stays in this process: the map and two slices would not fit.
        fits = Parallel(n_jobs=2 if x.data.nbytes < PARALLEL_FOLDS_MAX_BYTES else 1)(
            delayed(self._fit)(x, rows, labels) for rows in [fit_rows for fit_rows, _ in folds] + [np.arange(len(train))]
        )
        for (_, held_rows), models in zip(folds, fits):
            oof[held_rows] = self._scores(models, x[held_rows])
        self.models = fits[-1]
        return oof

    def features(self, frame: pd.DataFrame) -> sparse.csr_matrix:
        """The fitted TF-IDF of each user-month's document (float32)."""
        return self.tfidf.transform(self.key_counts(frame) @ self.key_ngrams, copy=False)

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        return self._scores(self.models, self.features(frame))


def fit_gbm(train: pd.DataFrame, valid: pd.DataFrame, config: GbmConfig, seed: int) -> dict[str, lgb.Booster]:
    """One LightGBM per task on ``train``'s labelled rows, early-stopped on the validation month's."""
    common = dict(
        num_leaves=config.num_leaves,
        learning_rate=config.learning_rate,
        n_estimators=config.n_estimators,
        min_child_samples=config.min_child_samples,
        subsample=0.8,
        subsample_freq=1,
        colsample_bytree=0.8,
        random_state=seed,
        deterministic=True,
        force_row_wise=True,
        n_jobs=2,
        verbose=-1,
    )
    x_train, x_valid = train.drop(columns=TARGET_COLUMNS), valid.drop(columns=TARGET_COLUMNS)
    stop = [lgb.early_stopping(config.early_stopping_rounds, verbose=False)]
    boosters = {}
    for task, estimator in (
        ("risk", lgb.LGBMClassifier(objective="binary", **common)),
        ("age", lgb.LGBMClassifier(objective="multiclass", num_class=4, **common)),
        ("income", lgb.LGBMRegressor(objective="regression", **common)),
    ):
        column = LABEL_COLUMNS[task]
        fit_rows, valid_rows = train[column].notna(), valid[column].notna()
        estimator.fit(
            x_train[fit_rows], train.loc[fit_rows, column],
            eval_X=(x_valid[valid_rows],), eval_y=(valid.loc[valid_rows, column],), callbacks=stop,
        )
        boosters[task] = estimator.booster_
    return boosters


def predict_gbm(boosters: dict[str, lgb.Booster], frame: pd.DataFrame) -> BaselinePredictions:
    x = frame.drop(columns=TARGET_COLUMNS, errors="ignore")
    return BaselinePredictions(
        risk_prob=boosters["risk"].predict(x), age_prob=boosters["age"].predict(x),
        income=np.clip(boosters["income"].predict(x), -1, 1),
    )


def _with_labels(frame: pd.DataFrame, prep: Preprocessing) -> pd.DataFrame:
    return pd.concat([tabular(frame, prep), frame[TARGET_COLUMNS].reset_index(drop=True)], axis=1)


def stacked_tree_scores(
    splits: dict[str, pd.DataFrame], prep: Preprocessing, folds: np.ndarray, config: TreeScoreConfig, seed: int,
) -> tuple[TreeScores, dict[str, np.ndarray]]:
    """The tree scores the credit models read (``ml.tree_scores``) for every split.

    Training rows: out of fold, from trees fitted on the other folds' rows (``folds``, the text
    read-outs' own: by training month). Every other split: the trees fitted on every training
    row, which scoring runs. The scale is the training rows' out-of-fold scores'.
    """
    train, valid = _with_labels(splits["train"], prep), _with_labels(splits["valid"], prep)  # what fitting reads
    out_of_fold = np.zeros((len(train), N_TREE_SCORES))
    for fold in np.unique(folds):
        held = folds == fold
        boosters = fit_gbm(train[~held].reset_index(drop=True), valid, config, seed)
        out_of_fold[held] = raw_scores(boosters, train[held].drop(columns=TARGET_COLUMNS), threads=2)
    full = fit_gbm(train, valid, config, seed)
    trees = TreeScores(full, out_of_fold.mean(axis=0), out_of_fold.std(axis=0) + 1e-6)
    scores = {"train": trees.standardise(out_of_fold)}
    for name in ("valid", "test"):
        scores[name] = trees(splits[name], prep, threads=2)
    return trees, scores


def run_baselines(
    splits: dict[str, pd.DataFrame], prep: Preprocessing, text_keys: list[str], folds: np.ndarray, config: BaselineConfig,
    seed: int,
) -> dict[str, dict[str, BaselinePredictions]]:
    """gbm_stats and gbm_text predictions for every split; ``folds``: of the training rows' text scores."""
    stats = {name: _with_labels(frame, prep) for name, frame in splits.items()}
    stats_boosters = fit_gbm(stats["train"], stats["valid"], config, seed)
    text = TextScores(config, text_keys, prep)
    scores = {"train": text.fit_out_of_fold(splits["train"], folds)}
    for name in ("valid", "test"):
        scores[name] = text.transform(splits[name])
    with_text = {}
    for name, frame in splits.items():
        extra = pd.DataFrame(scores[name], columns=["text_risk", "text_age_0", "text_age_1", "text_age_2", "text_age_3", "text_income"])
        with_text[name] = pd.concat([stats[name], extra], axis=1)
    boosters = fit_gbm(with_text["train"], with_text["valid"], config, seed)
    return {
        "gbm_stats": {name: predict_gbm(stats_boosters, frame) for name, frame in stats.items()},
        "gbm_text": {name: predict_gbm(boosters, frame) for name, frame in with_text.items()},
    }
