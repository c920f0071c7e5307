"""Scoring in dbt Python models: the embedding cache, the three score tables, backfills, refusals."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from conftest import DbtError, run_dbt

pytestmark = pytest.mark.slow
SCORE_TABLES = ("scores.risk_scores", "scores.age_scores", "scores.income_scores", "scores.user_month_scores")


def _vars(**values) -> list[str]:
    return ["--vars", json.dumps(values)]


def _last_month(spark, users: int = 200):
    """The first ``users`` user-months of the last month, features and sequences, as scoring reads them."""
    return spark.sql(
        "select * from features.user_month_features f join features.user_month_sequences s using (user_id, dt, is_train) "
        f"where f.dt = (select max(dt) from features.user_month_features) order by user_id limit {users}"
    ).toPandas()


def _partition_fingerprints(spark, table: str) -> dict[str, tuple[int, int]]:
    rows = spark.sql(f"select dt, count(*) as n, sum(xxhash64(*)) as h from {table} group by dt").collect()
    return {r.dt: (r.n, r.h) for r in rows}


@pytest.fixture(scope="module")
def scored(tiny_model, spark) -> dict:
    result = run_dbt(["build", "--select", "tag:scoring", *_vars(model_dir=str(tiny_model))])
    return {"model": tiny_model, "result": result}


def test_scoring_fills_three_tables_and_every_test_passes(scored, spark) -> None:
    statuses = {r.node.unique_id: str(r.status) for r in scored["result"].result.results}
    assert statuses and all(s in ("success", "pass", "warn") for s in statuses.values()), statuses
    assert any("assert_scores_reconcile_with_features" in uid for uid in statuses)
    features = spark.table("features.user_month_features")
    for table in SCORE_TABLES:
        frame = spark.table(table)
        assert frame.count() == features.count(), table
        assert frame.select("model_version").distinct().collect()[0][0] == scored["model"].name
    assert spark.table("monitoring.score_psi").count() == 3 * features.select("dt").distinct().count()


def test_scores_equal_the_exported_model_on_the_same_rows(scored, spark) -> None:
    """The dbt tables hold what ml.scoring computes for the same user-months outside Spark."""
    from ml.scoring import ScoringModel

    model = ScoringModel(scored["model"])
    frame = _last_month(spark)
    keys = model.preprocessing.text_slots(frame)[3]
    expected = model.score(frame, model.key_vectors(sorted(set(keys.tolist()))))
    actual = spark.table("scores.user_month_scores").toPandas().set_index(["user_id", "dt"])
    actual = actual.loc[list(zip(frame.user_id, frame.dt))]
    np.testing.assert_allclose(actual.risk_prob.to_numpy(), expected.risk_prob.to_numpy(), atol=2e-3)
    np.testing.assert_allclose(actual.income_mxn.to_numpy(), expected.income_mxn.to_numpy(), rtol=2e-3)
    assert (actual.age_bucket.to_numpy() == expected.age_bucket.to_numpy()).mean() > 0.97


def test_a_user_months_scores_do_not_depend_on_its_batch(scored, spark) -> None:
    """Bit for bit, scored alone, among 200 or among others with another vector table: what makes a backfill exact.

    The int8 head has fixed (calibrated) activation scales, a run's record axis depends on its
    user-months' own record counts, and every run is padded to whole tiles of the matrix kernels
    (``ScoringModel.head_feeds``).
    """
    from ml.scoring import KeyVectors, ScoringModel

    model = ScoringModel(scored["model"])
    frame = _last_month(spark)
    keys = sorted(set(model.preprocessing.text_slots(frame)[3].tolist()))
    vectors = model.key_vectors(keys)
    together = model.score(frame, vectors)
    alone = pd.concat([model.score(frame.iloc[[i]].reset_index(drop=True), vectors) for i in range(len(frame))], ignore_index=True)
    pd.testing.assert_frame_equal(alone, together, check_exact=True)  # every user-month, each in a run of its own
    picked = [0, 57, 199]
    expected = together.iloc[picked].reset_index(drop=True)
    reversed_table = KeyVectors.of(keys[::-1], vectors.table[1:][::-1])  # other row numbers, same vectors
    among_few = model.score(frame.iloc[picked + list(range(100, 140))].reset_index(drop=True), reversed_table)
    pd.testing.assert_frame_equal(among_few.iloc[:3].reset_index(drop=True), expected, check_exact=True)


def test_a_keys_int8_vector_does_not_depend_on_its_neighbours(scored, spark) -> None:
    """Each key runs alone through the int8 encoder: its vector is a function of the key and the model only."""
    from ml.scoring import VECTOR_DTYPE, ScoringModel

    model = ScoringModel(scored["model"])
    keys = [r.text_key for r in spark.table("features.field_texts").orderBy("text_key").limit(64).collect()]
    together = model.encode_keys(keys)
    alone = np.vstack([model.encode_keys([key]) for key in keys[::7]])
    np.testing.assert_array_equal(alone, together[::7])
    assert np.abs(together[0] - together[1]).max() > 1e-3  # and not one constant vector
    cached = spark.table("scores.text_embedding_cache").where(
        f"model_version = '{scored['model'].name}'"
    ).toPandas().set_index("text_key").loc[keys[::7]]
    stored = np.vstack([np.frombuffer(v, dtype=VECTOR_DTYPE) for v in cached.vector])
    np.testing.assert_array_equal(stored, alone.astype(VECTOR_DTYPE))


def test_a_workers_vectors_follow_each_runs_broadcast(scored, spark) -> None:
    """Python workers outlive a run: the next run's broadcast (same version, more keys) is the one read.

    As when the earlier months are cached and scored first, and a new month's keys join the
    cache in a later run of the same session.
    """
    from ml.scoring import ScoringModel, VectorTable, score_batches

    model = ScoringModel(scored["model"])
    frame = _last_month(spark, users=40)
    keys = sorted(set(model.preprocessing.text_slots(frame)[3].tolist()))
    rows = model.encode_keys(keys).astype(np.float16)
    first, rest = frame.iloc[:20].reset_index(drop=True), frame.iloc[20:].reset_index(drop=True)
    known = sorted(set(model.preprocessing.text_slots(first)[3].tolist()))
    position = {key: i for i, key in enumerate(keys)}

    def broadcast(subset: list[str]):
        table = VectorTable.from_cache(
            pd.DataFrame({"text_key": subset, "vector": [rows[position[k]].tobytes() for k in subset]}), model.version, rows.shape[1]
        )
        return spark.sparkContext.broadcast(table)

    assert set(model.preprocessing.text_slots(rest)[3].tolist()) - set(known)  # the later user-months bring new keys
    body = score_batches(str(scored["model"]), 1, broadcast(known))
    assert len(next(body(iter([first])))) == 20
    with pytest.raises(KeyError, match="no cached vector"):
        next(body(iter([rest])))  # this run's table lacks them
    later = next(score_batches(str(scored["model"]), 1, broadcast(keys))(iter([rest])))
    assert len(later) == len(rest) and later.risk_prob.between(0, 1).all()


def test_cache_encodes_each_key_once_per_model_version(scored, spark) -> None:
    cache = spark.table("scores.text_embedding_cache")
    keys = spark.table("features.field_texts").count()
    assert cache.count() == keys == cache.select("text_key").distinct().count()
    result = run_dbt(["run", "--select", "text_embedding_cache", *_vars(model_dir=str(scored["model"]))])
    assert str(result.result.results[0].status) == "success"
    assert spark.table("scores.text_embedding_cache").count() == keys  # nothing re-encoded, nothing duplicated


def test_a_run_of_some_months_encodes_and_broadcasts_only_their_keys(spark) -> None:
    from ml.scoring import keys_of_months

    texts = spark.createDataFrame(
        [("old", "2026-01-01", "2026-02-01"), ("spans", "2026-01-01", "2026-06-01"),
         ("may", "2026-05-01", "2026-05-01"), ("new", "2026-06-01", "2026-06-01")],
        "text_key string, first_dt string, last_dt string",
    )

    def keys(low, high):
        return sorted(r.text_key for r in keys_of_months(texts, low, high).collect())

    assert keys("2026-06-01", "2026-06-01") == ["new", "spans"]
    assert keys("2026-02-01", "2026-05-01") == ["may", "old", "spans"]
    assert keys(None, "2026-01-01") == ["old", "spans"]
    assert keys(None, None) == ["may", "new", "old", "spans"]


def test_backfill_rewrites_one_month_identically_and_leaves_the_others(scored, spark) -> None:
    before = {t: _partition_fingerprints(spark, t) for t in SCORE_TABLES}
    month = sorted(before["scores.risk_scores"])[-2]
    run_dbt(["run", "--select", "tag:scoring", *_vars(model_dir=str(scored["model"]), score_dt_from=month, score_dt_to=month)])
    after = {t: _partition_fingerprints(spark, t) for t in SCORE_TABLES}
    assert after == before


def test_a_tampered_model_is_refused_before_anything_is_written(scored, spark, tmp_path) -> None:
    tampered = tmp_path / scored["model"].name
    shutil.copytree(scored["model"], tampered)
    with (tampered / "onnx" / "head.int8.onnx").open("ab") as handle:
        handle.write(b"\0")
    before = {t: _partition_fingerprints(spark, t) for t in SCORE_TABLES}
    cache_rows = spark.table("scores.text_embedding_cache").count()
    with pytest.raises(DbtError, match="onnx/head.int8.onnx has sha256"):
        run_dbt(["run", "--select", "tag:scoring", *_vars(model_dir=str(tampered))])
    assert {t: _partition_fingerprints(spark, t) for t in SCORE_TABLES} == before
    assert spark.table("scores.text_embedding_cache").count() == cache_rows


def test_a_model_exported_with_other_head_inputs_is_refused_by_name(tiny_model, tmp_path) -> None:
    """An older model version (its head without ``field_weight``) gets a clear error, not ONNX Runtime's."""
    from ml.artifacts import write_manifest
    from ml.scoring import HEAD_INPUTS, IncompatibleModelError, ScoringModel

    older = tmp_path / tiny_model.name
    shutil.copytree(tiny_model, older)
    spec_path = older / "onnx" / "scoring.json"
    spec = json.loads(spec_path.read_text())
    spec["head_inputs"] = [name for name in HEAD_INPUTS if name != "field_weight"]
    spec_path.write_text(json.dumps(spec))
    (older / "manifest.json").unlink()
    write_manifest(older)  # an honest older model: its manifest matches its files
    with pytest.raises(IncompatibleModelError, match="head_inputs is .*this code feeds .*field_weight"):
        ScoringModel(older)
    assert ScoringModel(tiny_model).field_dim > 0  # the model this code exported loads

