"""Benchmark batch scoring: CPU-seconds per user-month of the naive designs and of this one.

On one warehouse and one model, side by side (one run, medians where repeated):

(a) naive torch fp32: per user-month, encode every field text of its records with the torch
    student (no cache, no dedupe), then the torch head;
(b) naive ONNX int8, the seed system's approach: the same with the int8 ONNX encoder and head;
(c) this design, cache cold: the real dbt Python models (`text_embedding_cache`, then
    `user_month_scores`) on every month, each distinct field key encoded once;
(d) this design, a new month: earlier months' keys are cached; only the last month is scored
    and only its new keys are encoded;
(e) the head alone: the int8 ONNX head on ready inputs, the floor once every text is cached.

(a), (b) and (e) run in this process on a sample of user-months, one thread each; (c) and (d)
run dbt in this process and count the CPU time of the whole process tree (this Python, the
Spark JVM and its Python workers, with psutil). Also: distinct field texts versus field
slots, users/s, peak memory, and the bytes the scoring join shuffles per user-month (Spark's
stage metrics).

    python benchmarks/bench_scoring.py                                   # the make demo warehouse
    python benchmarks/bench_scoring.py --warehouse /data/wh100k --json bench_scoring.json
    python benchmarks/bench_scoring.py --users 100000 --json bench_scoring_100k.json   # build, then score
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
SEED_CPU_S = {"before_int8": 0.315, "after_int8": 0.215}  # the seed system's reported CPU-seconds per user


def tree_cpu_seconds() -> float:
    """User + system CPU of this process and every descendant alive now."""
    processes = [psutil.Process()] + psutil.Process().children(recursive=True)
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def tree_rss_bytes() -> int:
    total = 0
    for process in [psutil.Process()] + psutil.Process().children(recursive=True):
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def shuffle_write_bytes(spark) -> int:
    """Shuffle bytes written by every stage of this Spark application so far (its status store)."""
    sc, jvm = spark.sparkContext, spark.sparkContext._jvm
    # Spark 4: stageList(statuses, details, withSummaries, quantiles, taskStatuses); empty lists = every stage
    stages = sc._jsc.sc().statusStore().stageList(
        jvm.java.util.ArrayList(), False, False, sc._gateway.new_array(jvm.double, 0), jvm.java.util.ArrayList()
    )
    return sum(stages.apply(i).shuffleWriteBytes() for i in range(stages.size()))


def run_dbt(args: list[str]) -> None:
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke([*args, "--project-dir", str(REPO), "--profiles-dir", str(REPO / "profiles")])
    if not result.success:
        raise SystemExit(f"dbt {' '.join(args)} failed: {result.exception}")


def naive_torch(model_dir: Path, frame: pd.DataFrame) -> float:
    """(a): CPU-seconds per user-month, every slot's text encoded with torch for its user."""
    import torch

    from ml.dataset import model_inputs
    from ml.export import encoder_dir, load_head
    from ml.model.fit import predict
    from ml.preprocessing import Preprocessing
    from ml.text.encoder import FieldEncoder

    torch.set_num_threads(1)
    prep = Preprocessing.load(model_dir / "preprocessing.json")
    encoder, head = FieldEncoder.from_pretrained(encoder_dir(model_dir)), load_head(model_dir)
    start = time.process_time()
    for i in range(len(frame)):
        row = frame.iloc[i : i + 1]
        keys = prep.text_slots(row)[3].tolist()  # every slot, repeats included: no cache, no dedupe
        vectors = encoder.encode(keys, batch_size=max(1, len(keys)))
        first = {key: position for position, key in reversed(list(enumerate(keys)))}  # each key's first slot
        table = torch.from_numpy(np.vstack([np.zeros((1, encoder.dim), np.float32), vectors[list(first.values())]]))
        predict(head, model_inputs(row, prep, list(first)), table)
    return (time.process_time() - start) / len(frame)


def naive_onnx(model_dir: Path, frame: pd.DataFrame) -> float:
    """(b): CPU-seconds per user-month, every slot's text encoded with int8 ONNX for its user."""
    from ml.scoring import ScoringModel

    model = ScoringModel(model_dir, threads=1)
    start = time.process_time()
    for i in range(len(frame)):
        row = frame.iloc[i : i + 1]
        keys = model.preprocessing.text_slots(row)[3].tolist()  # every slot, repeats included
        vectors = model.encode_keys(keys)
        first = {key: position for position, key in reversed(list(enumerate(keys)))}
        model.score(row, vectors[list(first.values())], pd.Index(list(first), dtype=object))
    return (time.process_time() - start) / len(frame)


def head_alone(model_dir: Path, frame: pd.DataFrame) -> float:
    """(e): CPU-seconds per user-month of the int8 ONNX head on ready inputs (median of 3)."""
    from ml.scoring import HEAD_OUTPUTS, ScoringModel

    model = ScoringModel(model_dir, threads=1)
    keys = pd.Index(sorted(set(model.preprocessing.text_slots(frame)[3].tolist())))
    feed = model.head_inputs(frame, model.encode_keys(keys.tolist()), keys)
    timings = []
    for _ in range(3):
        start = time.process_time()
        for s in range(0, len(frame), 512):
            model.head.run(list(HEAD_OUTPUTS), {k: v[s : s + 512] for k, v in feed.items()})
        timings.append(time.process_time() - start)
    return float(np.median(timings)) / len(frame)


def dbt_scoring(spark, model_dir: Path, months: list[str], drop_first: bool) -> dict:
    """Run the two scoring Python models on ``months``; CPU of the process tree, wall, shuffle bytes."""
    if drop_first:
        for table in ("scores.text_embedding_cache", "scores.user_month_scores"):
            spark.sql(f"drop table if exists {table}")
    cached_before = spark.table("scores.text_embedding_cache").count() if spark.catalog.tableExists("scores.text_embedding_cache") else 0
    variables = json.dumps({"model_dir": str(model_dir), "score_dt_from": months[0], "score_dt_to": months[-1]})
    cpu, shuffled, wall = tree_cpu_seconds(), shuffle_write_bytes(spark), time.perf_counter()
    run_dbt(["run", "--select", "text_embedding_cache", "user_month_scores", "--vars", variables])
    cpu, shuffled, wall = tree_cpu_seconds() - cpu, shuffle_write_bytes(spark) - shuffled, time.perf_counter() - wall
    user_months = spark.table("features.user_month_features").where(f"dt between '{months[0]}' and '{months[-1]}'").count()
    encoded = spark.table("scores.text_embedding_cache").count() - cached_before
    return {"months": months, "user_months": user_months, "keys_encoded": encoded, "cpu_s": cpu, "wall_s": wall,
            "cpu_s_per_user_month": cpu / user_months, "users_per_s": user_months / wall,
            "shuffle_bytes": shuffled, "shuffle_bytes_per_user_month": shuffled / user_months,
            "peak_tree_rss_gib": tree_rss_bytes() / 2**30}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog="example: python benchmarks/bench_scoring.py --json bench_scoring.json")
    parser.add_argument("--warehouse", default=os.environ.get("RIDECREDIT_WAREHOUSE", str(REPO / ".warehouse")),
                        help="an already built warehouse (default: the make demo one)")
    parser.add_argument("--users", type=int, default=None,
                        help="first build a fresh warehouse of N users (generate, seed, dbt build) under --workdir, then score it")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/ridecredit-bench-scoring"), help="where --users builds")
    parser.add_argument("--model", default=str(REPO / "artifacts" / "models" / "latest"), help="model directory")
    parser.add_argument("--sample", type=int, default=300, help="user-months for the in-process measures (a), (b), (e)")
    parser.add_argument("--json", default=None, help="write every figure here")
    args = parser.parse_args(argv)
    console = Console()
    if args.users:
        sys.path.insert(0, str(REPO / "benchmarks"))
        from bench_dbt_build import bench

        bench(args.users, 6, 42, args.workdir, os.environ.get("RIDECREDIT_DRIVER_MEMORY", "10g"), console)
        args.warehouse = str(args.workdir / f"users_{args.users}")
    os.environ["RIDECREDIT_WAREHOUSE"] = str(Path(args.warehouse).resolve())
    os.environ.setdefault("DBT_PROFILES_DIR", str(REPO / "profiles"))
    model_dir = Path(args.model).resolve()

    from ml.artifacts import verify_manifest
    from ml.spark_session import spark_session

    verify_manifest(model_dir)
    spark = spark_session()
    spark.sparkContext.setLogLevel("ERROR")
    months = sorted(r.dt for r in spark.table("features.user_month_features").select("dt").distinct().collect())
    last = months[-1]
    sample = spark.sql(
        "select * from features.user_month_features join features.user_month_sequences using (user_id, dt, is_train) "
        f"where dt = '{last}' order by xxhash64(user_id) limit {args.sample}"
    ).toPandas()
    novelty = spark.table("monitoring.field_text_novelty").toPandas()
    texts = {"field_slots": int(novelty.n_slots.sum()), "distinct_keys": int(spark.table("features.field_texts").count())}
    texts["slots_per_distinct_key"] = texts["field_slots"] / texts["distinct_keys"]

    figures: dict = {"warehouse": args.warehouse, "model": str(model_dir), "cores": os.cpu_count(), "texts": texts,
                     "sample_user_months": len(sample), "seed_system_cpu_s_per_user": SEED_CPU_S}
    console.print(f"(a) naive torch fp32 on {len(sample)} user-months …")
    figures["a_naive_torch_fp32"] = naive_torch(model_dir, sample)
    console.print("(b) naive ONNX int8 …")
    figures["b_naive_onnx_int8"] = naive_onnx(model_dir, sample)
    console.print("(e) head alone …")
    figures["e_head_alone"] = head_alone(model_dir, sample)
    console.print(f"(c) dbt scoring, cold cache, {len(months)} months …")
    cold = dbt_scoring(spark, model_dir, months, drop_first=True)
    figures["c_cold_cache"] = cold
    console.print(f"(d) dbt scoring of {last} with the earlier months cached …")
    dbt_scoring(spark, model_dir, months[:-1], drop_first=True)  # warm-up: cache and score the earlier months
    new_month = dbt_scoring(spark, model_dir, [last], drop_first=False)
    figures["d_new_month"] = new_month
    b = figures["b_naive_onnx_int8"]
    figures["ratios"] = {
        "b_over_c": b / cold["cpu_s_per_user_month"],
        "b_over_d": b / new_month["cpu_s_per_user_month"],
        "a_over_b": figures["a_naive_torch_fp32"] / b,
        "c_over_e": cold["cpu_s_per_user_month"] / figures["e_head_alone"],
    }

    table = Table(title=f"CPU-seconds per user-month, {os.cpu_count()} cores, model {model_dir.name}")
    table.add_column("design")
    table.add_column("CPU s / user-month", justify="right")
    table.add_column("vs (b)", justify="right")
    for name, value in (("(a) naive torch fp32", figures["a_naive_torch_fp32"]), ("(b) naive ONNX int8", b),
                        ("(c) this design, cold cache", cold["cpu_s_per_user_month"]),
                        ("(d) this design, new month", new_month["cpu_s_per_user_month"]),
                        ("(e) head alone", figures["e_head_alone"])):
        table.add_row(name, f"{value:.5f}", f"{b / value:.1f}x cheaper" if value < b else f"{value / b:.2f}x")
    console.print(table)
    console.print(
        f"distinct field texts {texts['distinct_keys']:,} for {texts['field_slots']:,} slots "
        f"({texts['slots_per_distinct_key']:.0f}x); cold: {cold['users_per_s']:.0f} user-months/s, "
        f"{cold['shuffle_bytes_per_user_month']:.0f} shuffle bytes per user-month, peak RSS {cold['peak_tree_rss_gib']:.1f} GiB"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
        console.print(f"figures: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
