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
Spark JVM and its Python workers, with psutil), split by process. Each of them, and the fixed cost,
runs --repeat times (default 3) and the run of median CPU is reported. (d) runs first: its first
dbt run, every month but the last, also warms the JVM and the Python workers, as a cluster
that scores every month is warm. A dbt run of a month without user-months gives the fixed cost
of a run (dbt's parse and compile, Spark's planning, the cache broadcast), and (c) is also
given net of it: what a user-month costs when a run scores millions. Also: distinct field
texts versus field slots, users/s, peak memory, the bytes the scoring join shuffles per
user-month (Spark's stage metrics), and, with --scale, users/s and peak memory scoring one
month of 100k and 1M users (the last month's user-months copied under new ids).

    python benchmarks/bench_scoring.py                                   # the make demo warehouse
    python benchmarks/bench_scoring.py --warehouse /data/wh100k --json bench_scoring.json
    python benchmarks/bench_scoring.py --users 100000 --json bench_scoring_100k.json   # build, then score
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
EMPTY_MONTH = "1900-01-01"  # a month no warehouse has: a run that scores nothing costs what every run costs
SEED_CPU_S = {"before_int8": 0.315, "after_int8": 0.215}  # the seed system's reported CPU-seconds per user


def _role(process: psutil.Process) -> str:
    """Which part of the scoring a process is: the Spark JVM, a Python worker, or this driver (dbt, py4j)."""
    if process.pid == os.getpid():
        return "driver_python"
    command = " ".join(process.cmdline())
    if process.name() == "java":
        return "spark_jvm"
    return "python_workers" if "pyspark" in command else "other"


def tree_cpu_seconds() -> dict[str, float]:
    """User + system CPU of this process and every descendant, by role; with reaped children's CPU."""
    totals: dict[str, float] = {"driver_python": 0.0, "spark_jvm": 0.0, "python_workers": 0.0, "other": 0.0}
    for process in [psutil.Process()] + psutil.Process().children(recursive=True):
        try:
            times = process.cpu_times()
            role = _role(process)
            # + the CPU of exited children it waited for (a Python worker's goes to pyspark.daemon)
            totals[role] += times.user + times.system + times.children_user + times.children_system
        except psutil.NoSuchProcess:
            pass
    return totals


def tree_rss_bytes() -> int:
    total = 0
    for process in [psutil.Process()] + psutil.Process().children(recursive=True):
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


class PeakRss:
    """The largest resident memory of the process tree (this Python, the JVM, its Python workers) while open."""

    def __enter__(self) -> "PeakRss":
        self.peak, self._done = tree_rss_bytes(), threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._done.wait(0.5):
            self.peak = max(self.peak, tree_rss_bytes())

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()
        self.peak = max(self.peak, tree_rss_bytes())


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
    from ml.export import encoder_dir, load_head, torch_key_table
    from ml.model.fit import KeyTable, predict
    from ml.preprocessing import Preprocessing
    from ml.text.encoder import FieldEncoder
    from ml.tree_scores import TREES_DIR, TreeScores

    torch.set_num_threads(1)
    prep = Preprocessing.load(model_dir / "preprocessing.json")
    encoder, head = FieldEncoder.from_pretrained(encoder_dir(model_dir)), load_head(model_dir)
    trees = TreeScores.load(model_dir / TREES_DIR)
    start = time.process_time()
    for i in range(len(frame)):
        row = frame.iloc[i : i + 1]
        keys = prep.text_slots(row)[3].tolist()  # every slot, repeats included: no cache, no dedupe
        table = torch_key_table(encoder, head, keys, batch_size=max(1, len(keys)))
        first = {key: position for position, key in reversed(list(enumerate(keys)))}  # each key's first slot
        rows = [0, *(position + 1 for position in first.values())]
        predict(head, model_inputs(row, prep, list(first), trees(row, prep)), KeyTable(table.embeddings[rows], table.lexical[rows], []))
    return (time.process_time() - start) / len(frame)


def naive_onnx(model_dir: Path, frame: pd.DataFrame) -> float:
    """(b): CPU-seconds per user-month, every slot's text encoded with int8 ONNX for its user."""
    from ml.scoring import KeyVectors, ScoringModel

    model = ScoringModel(model_dir, threads=1)
    start = time.process_time()
    for i in range(len(frame)):
        row = frame.iloc[i : i + 1]
        keys = model.preprocessing.text_slots(row)[3].tolist()  # every slot, repeats included
        vectors = model.encode_keys(keys)
        first = {key: position for position, key in reversed(list(enumerate(keys)))}
        model.score(row, KeyVectors.of(list(first), vectors[list(first.values())]))
    return (time.process_time() - start) / len(frame)


def head_alone(model_dir: Path, frame: pd.DataFrame) -> float:
    """(e): CPU-seconds per user-month of the int8 ONNX head's runs on ready inputs (median of 3)."""
    from ml.scoring import HEAD_OUTPUTS, ScoringModel

    model = ScoringModel(model_dir, threads=1)
    vectors = model.key_vectors(sorted(set(model.preprocessing.text_slots(frame)[3].tolist())))
    feeds = [feed for _, feed in model.head_feeds(frame, vectors)]
    timings = []
    for _ in range(3):
        start = time.process_time()
        for feed in feeds:
            model.head.run(list(HEAD_OUTPUTS), feed)
        timings.append(time.process_time() - start)
    return float(np.median(timings)) / len(frame)


def dbt_scoring(spark, model_dir: Path, months: list[str], drop_first: bool) -> dict:
    """Run the two scoring Python models on ``months``; CPU of the process tree, wall, shuffle bytes."""
    if drop_first:
        for table in ("scores.text_embedding_cache", "scores.user_month_scores"):
            spark.sql(f"drop table if exists {table}")
    cached_before = spark.table("scores.text_embedding_cache").count() if spark.catalog.tableExists("scores.text_embedding_cache") else 0
    variables = json.dumps({"model_dir": str(model_dir), "score_dt_from": months[0], "score_dt_to": months[-1]})
    before, shuffled, wall = tree_cpu_seconds(), shuffle_write_bytes(spark), time.perf_counter()
    with PeakRss() as memory:
        run_dbt(["run", "--select", "text_embedding_cache", "user_month_scores", "--vars", variables])
    after, shuffled, wall = tree_cpu_seconds(), shuffle_write_bytes(spark) - shuffled, time.perf_counter() - wall
    by_role = {role: after[role] - before.get(role, 0.0) for role in after}
    cpu = sum(by_role.values())
    user_months = spark.table("features.user_month_features").where(f"dt between '{months[0]}' and '{months[-1]}'").count()
    encoded = spark.table("scores.text_embedding_cache").count() - cached_before
    user_months_or_one = max(user_months, 1)
    return {"months": months, "user_months": user_months, "keys_encoded": encoded, "cpu_s": cpu, "cpu_s_by_process": by_role, "wall_s": wall,
            "cpu_s_per_user_month": cpu / user_months_or_one, "users_per_s": user_months / wall,
            "shuffle_bytes": shuffled, "shuffle_bytes_per_user_month": shuffled / user_months_or_one,
            "peak_tree_rss_gib": memory.peak / 2**30}


def median_run(runs: list[dict]) -> dict:
    """The run of median CPU (its own figures, split by process), with every run's CPU-seconds."""
    chosen = sorted(runs, key=lambda run: run["cpu_s"])[len(runs) // 2]
    return {**chosen, "cpu_s_of_each_run": [run["cpu_s"] for run in runs]}


def scale_run(spark, model_dir: Path, month: str, users: int, workdir: Path) -> dict:
    """One month of ``users`` user-months, scored by the scoring model's own plan (``score_user_months``).

    The warehouse's user-months of ``month`` are copied under new user ids until there are
    ``users`` (written to parquet first, not timed), so the keys are the ones already cached;
    the scores are written to parquet. CPU of the process tree, wall, users/s, peak memory.
    """
    from pyspark.sql import functions as F

    from ml.scoring import score_user_months

    source = workdir / f"scale_inputs_{month}_{users}"
    if not (source / "_SUCCESS").exists():
        base = spark.table("features.user_month_features").drop("is_train").join(
            spark.table("features.user_month_sequences").drop("is_train"), ["user_id", "dt"]
        ).where(F.col("dt") == month)
        copies = -(-users // base.count())
        copied = base.crossJoin(spark.range(copies).withColumnRenamed("id", "copy"))
        copied = copied.withColumn("user_id", F.concat_ws("~", "user_id", F.col("copy").cast("string"))).drop("copy")
        copied.limit(users).write.mode("overwrite").parquet(str(source))
    inputs = spark.read.parquet(str(source))
    n = inputs.count()
    before, wall = tree_cpu_seconds(), time.perf_counter()
    with PeakRss() as memory:
        scores = score_user_months(spark, inputs, spark.table("scores.text_embedding_cache"), model_dir)
        scores.write.mode("overwrite").parquet(str(workdir / "scale_scores"))
    after, wall = tree_cpu_seconds(), time.perf_counter() - wall
    cpu = sum(after[role] - before.get(role, 0.0) for role in after)
    return {"month": month, "user_months": n, "cpu_s": cpu, "wall_s": wall, "cpu_s_per_user_month": cpu / n,
            "users_per_s": n / wall, "peak_tree_rss_gib": memory.peak / 2**30}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog="example: python benchmarks/bench_scoring.py --json bench_scoring.json")
    parser.add_argument("--warehouse", default=os.environ.get("RIDECREDIT_WAREHOUSE", str(REPO / ".warehouse")),
                        help="an already built warehouse (default: the make demo one)")
    parser.add_argument("--users", type=int, default=None,
                        help="first build a fresh warehouse of N users (generate, seed, dbt build) under --workdir, then score it")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/ridecredit-bench-scoring"), help="where --users builds and --scale writes its inputs and scores")
    parser.add_argument("--model", default=str(REPO / "artifacts" / "models" / "latest"), help="model directory")
    parser.add_argument("--sample", type=int, default=300, help="user-months for the in-process measures (a), (b), (e)")
    parser.add_argument("--scale", type=int, nargs="*", default=[100_000, 1_000_000],
                        help="after (c): score one month of this many users (the last month's user-months copied), "
                        "for users/s and peak memory at scale (default 100000 1000000; none to skip)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each dbt measure, (c), (d) and the fixed cost; the median is reported")
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
    # (d) first: its first run (every earlier month) also warms the JVM and the Python workers, as
    # any long-running cluster is warm; (c) then drops the cache and scores every month.
    # Each dbt measure runs --repeat times; the run of median CPU is reported (with its split by
    # process) and every run's CPU is kept: on these machines one run can be 30 % off another.
    warm_ups, new_months, fixeds, colds = [], [], [], []
    for attempt in range(1, args.repeat + 1):
        console.print(f"[{attempt}/{args.repeat}] (d) dbt scoring of {last} with the earlier months cached …")
        warm_ups.append(dbt_scoring(spark, model_dir, months[:-1], drop_first=True))
        new_months.append(dbt_scoring(spark, model_dir, [last], drop_first=False))
        console.print(f"[{attempt}/{args.repeat}] fixed cost of one dbt scoring run (a month with no user-months) …")
        fixeds.append(dbt_scoring(spark, model_dir, [EMPTY_MONTH], drop_first=False))
    for attempt in range(1, args.repeat + 1):
        console.print(f"[{attempt}/{args.repeat}] (c) dbt scoring, cold cache, {len(months)} months …")
        colds.append(dbt_scoring(spark, model_dir, months, drop_first=True))
    figures["warm_up_earlier_months"] = median_run(warm_ups)
    figures["d_new_month"] = new_month = median_run(new_months)
    figures["fixed_cost_per_run"] = fixed = median_run(fixeds)
    figures["c_cold_cache"] = cold = median_run(colds)
    for entry in (cold, new_month):  # what a user-month costs once a run's fixed cost is spread over many
        entry["cpu_s_per_user_month_net_of_fixed"] = (entry["cpu_s"] - fixed["cpu_s"]) / entry["user_months"]
    b = figures["b_naive_onnx_int8"]
    figures["ratios"] = {
        "b_over_c": b / cold["cpu_s_per_user_month"],
        "b_over_c_net_of_fixed": b / cold["cpu_s_per_user_month_net_of_fixed"],
        "b_over_d": b / new_month["cpu_s_per_user_month"],
        "a_over_b": figures["a_naive_torch_fp32"] / b,
        "c_over_e": cold["cpu_s_per_user_month"] / figures["e_head_alone"],
    }

    figures["scale"] = []
    for users in args.scale:
        console.print(f"scale: one month of {users:,} users …")
        figures["scale"].append(scale_run(spark, model_dir, last, users, args.workdir))
        console.print(f"  {figures['scale'][-1]}")

    table = Table(title=f"CPU-seconds per user-month, {os.cpu_count()} cores, model {model_dir.name}")
    table.add_column("design")
    table.add_column("CPU s / user-month", justify="right")
    table.add_column("vs (b)", justify="right")
    for name, value in (("(a) naive torch fp32", figures["a_naive_torch_fp32"]), ("(b) naive ONNX int8", b),
                        ("(c) this design, cold cache", cold["cpu_s_per_user_month"]),
                        ("(c) net of the run's fixed cost", cold["cpu_s_per_user_month_net_of_fixed"]),
                        ("(d) this design, new month", new_month["cpu_s_per_user_month"]),
                        ("(e) head alone", figures["e_head_alone"])):
        table.add_row(name, f"{value:.5f}", f"{b / value:.1f}x cheaper" if value < b else f"{value / b:.2f}x")
    console.print(table)
    console.print(
        f"distinct field texts {texts['distinct_keys']:,} for {texts['field_slots']:,} slots "
        f"({texts['slots_per_distinct_key']:.0f}x); cold: {cold['users_per_s']:.0f} user-months/s, "
        f"{cold['shuffle_bytes_per_user_month']:.0f} shuffle bytes per user-month, peak RSS {cold['peak_tree_rss_gib']:.1f} GiB; "
        f"fixed cost of a run {fixed['cpu_s']:.1f} CPU-s"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
        console.print(f"figures: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
