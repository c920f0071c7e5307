"""``report.html``: the training report a modeller reads, plots embedded, next to ``metrics.json``.

Plots: ROC and KS curves, score distribution per month, calibration, the age confusion
matrix, income predicted vs actual, PLE gate utilisation, the training curves of every
credit model and the encoder's loss curves.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.calibration import calibration_curve  # noqa: E402
from sklearn.metrics import confusion_matrix, roc_curve  # noqa: E402

from ml.evaluate import HEADLINE, ScoredModel, TestLabels  # noqa: E402
from ml.model.credit_model import TASKS  # noqa: E402
from ml.preprocessing import Preprocessing  # noqa: E402

AGE_LABELS = ["<25", "25-34", "35-49", "50+"]


def _png(fig: plt.Figure) -> str:
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def roc_and_ks(models: dict[str, ScoredModel], labels: TestLabels) -> str:
    has = ~np.isnan(labels.risk)
    y = labels.risk[has]
    fig, (roc_ax, ks_ax) = plt.subplots(1, 2, figsize=(12, 4.6))
    for name, model in models.items():
        fpr, tpr, _ = roc_curve(y, model.risk_prob[has])
        roc_ax.plot(fpr, tpr, label=name, linewidth=1.8 if name == "student" else 1.0)
    roc_ax.plot([0, 1], [0, 1], color="grey", linestyle=":")
    roc_ax.set(title="ROC, risk, test month", xlabel="false positive rate", ylabel="true positive rate")
    roc_ax.legend(fontsize=8)
    score = models["student"].risk_prob[has]
    grid = np.quantile(score, np.linspace(0, 1, 201))
    bad = np.searchsorted(np.sort(score[y == 1]), grid, side="right") / max(1, (y == 1).sum())
    good = np.searchsorted(np.sort(score[y == 0]), grid, side="right") / max(1, (y == 0).sum())
    k = int(np.argmax(good - bad))
    ks_ax.plot(grid, good, label="goods (repaid)")
    ks_ax.plot(grid, bad, label="bads (overdue)")
    ks_ax.vlines(grid[k], bad[k], good[k], color="black", linestyle="--", label=f"KS = {good[k] - bad[k]:.3f}")
    ks_ax.set(title="KS, student risk score", xlabel="predicted default probability", ylabel="cumulative share")
    ks_ax.legend(fontsize=8)
    return _png(fig)


def score_distribution(by_month: dict[str, np.ndarray]) -> str:
    fig, ax = plt.subplots(figsize=(8, 4))
    bins = np.linspace(0, max(float(np.quantile(np.concatenate(list(by_month.values())), 0.995)), 1e-3), 50)
    for month, scores in sorted(by_month.items()):
        ax.hist(scores, bins=bins, histtype="step", density=True, label=month)
    ax.set(title="student risk score by snapshot month (all users)", xlabel="predicted default probability", ylabel="density")
    ax.legend(fontsize=8)
    return _png(fig)


def calibration(models: dict[str, ScoredModel], labels: TestLabels) -> str:
    has = ~np.isnan(labels.risk)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for name in ("student", "teacher", "gbm_text", "oracle"):
        if name in models:
            observed, predicted = calibration_curve(labels.risk[has], models[name].risk_prob[has], n_bins=10, strategy="quantile")
            ax.plot(predicted, observed, marker="o", markersize=3, label=name)
    top = float(max(ax.get_xlim()[1], ax.get_ylim()[1]))
    ax.plot([0, top], [0, top], color="grey", linestyle=":")
    ax.set(title="calibration, test month (deciles)", xlabel="mean predicted", ylabel="observed overdue rate")
    ax.legend(fontsize=8)
    return _png(fig)


def age_confusion(model: ScoredModel, labels: TestLabels) -> str:
    has = labels.age >= 0
    matrix = confusion_matrix(labels.age[has], model.age_prob[has].argmax(1), labels=[0, 1, 2, 3], normalize="true")
    fig, ax = plt.subplots(figsize=(5, 4.4))
    ax.imshow(matrix, cmap="Blues", vmin=0, vmax=1)
    for (i, j), value in np.ndenumerate(matrix):
        ax.text(j, i, f"{value:.2f}", ha="center", va="center", color="white" if value > 0.5 else "black")
    ax.set_xticks(range(4), AGE_LABELS)
    ax.set_yticks(range(4), AGE_LABELS)
    ax.set(title="student age bucket (rows: true, normalised)", xlabel="predicted", ylabel="true")
    return _png(fig)


def income_scatter(model: ScoredModel, labels: TestLabels, prep: Preprocessing) -> str:
    has = ~np.isnan(labels.income_norm)
    actual, predicted = prep.income_mxn(labels.income_norm[has]), prep.income_mxn(model.income[has])
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.scatter(actual, predicted, s=4, alpha=0.3)
    low, high = float(actual.min()), float(actual.max())
    ax.plot([low, high], [low, high], color="grey", linestyle=":")
    ax.set(xscale="log", yscale="log", title="student income, test month (MXN)", xlabel="labelled", ylabel="predicted")
    return _png(fig)


def gate_utilisation(usage: list[list[list[float]]], experts_per_task: int) -> str:
    levels = len(usage)
    fig, axes = plt.subplots(1, levels, figsize=(5 * levels, 3.2), squeeze=False)
    for level, ax in enumerate(axes[0]):
        matrix = np.asarray(usage[level])  # (tasks, own + shared experts)
        ax.imshow(matrix, cmap="viridis", vmin=0, vmax=1)
        for (i, j), value in np.ndenumerate(matrix):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", color="white" if value < 0.5 else "black", fontsize=8)
        names = [f"task {i + 1}" for i in range(experts_per_task)] + [f"shared {i + 1}" for i in range(matrix.shape[1] - experts_per_task)]
        ax.set_xticks(range(matrix.shape[1]), names, rotation=30, fontsize=8)
        ax.set_yticks(range(len(TASKS)), TASKS)
        ax.set_title(f"CGC level {level + 1}: mean gate weight (student, test)")
    return _png(fig)


def training_curves(histories: dict[str, list[dict]]) -> str:
    fig, (loss_ax, valid_ax) = plt.subplots(1, 2, figsize=(12, 4.2))
    for name, history in histories.items():
        epochs = [h["epoch"] for h in history]
        total = [sum(h["train_loss"].values()) for h in history]
        loss_ax.plot(epochs, total, marker="o", markersize=3, label=name)
        valid_ax.plot(epochs, [h["valid"]["score"] for h in history], marker="o", markersize=3, label=name)
    loss_ax.set(title="training loss (sum of task losses)", xlabel="epoch")
    valid_ax.set(title="validation score (mean of AUC, macro-F1, Spearman)", xlabel="epoch")
    loss_ax.legend(fontsize=8)
    valid_ax.legend(fontsize=8)
    return _png(fig)


def segment_differences(segments: dict[str, dict[str, dict]]) -> str:
    """Student - gbm_text per segment and task, with its 95 % interval: where the student wins and loses."""
    names = [(by, name) for by, parts in segments.items() for name in parts]
    fig, axes = plt.subplots(1, 3, figsize=(13, 0.45 * len(names) + 1.4), sharey=True)
    for ax, (_, _, key, title) in zip(axes, HEADLINE):
        for row, (by, name) in enumerate(names):
            c = segments[by][name]["student - gbm_text"][key]
            if c is None or not np.isfinite([c["ci95_low"], c["ci95_high"]]).all():
                continue
            colour = "black" if not c["excludes_zero"] else ("tab:green" if c["difference"] > 0 else "tab:red")
            ax.errorbar(c["difference"], row, xerr=[[c["difference"] - c["ci95_low"]], [c["ci95_high"] - c["difference"]]],
                        fmt="o", color=colour, capsize=3)
        ax.axvline(0, color="grey", linestyle=":")
        ax.locator_params(axis="x", nbins=5)
        ax.set(title=f"student - gbm_text, {title}", xlabel="difference (95 % interval)")
    axes[0].set_yticks(range(len(names)), [name for _, name in names])
    axes[0].invert_yaxis()
    return _png(fig)


def _table(rows: list[list[Any]], header: list[str]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def segment_rows(segments: dict[str, dict]) -> tuple[list[list[Any]], list[str]]:
    """One row per segment and model: labelled users and the headline metric of each task; then student - gbm_text."""
    def value(scores: dict | None, metric: str) -> str:
        return "–" if scores is None else f"{scores[metric]:.4f}"

    def difference(c: dict | None) -> str:
        if c is None:
            return "–"
        text = f"{c['difference']:+.4f} [{c['ci95_low']:+.4f}, {c['ci95_high']:+.4f}]"
        return f"<b>{text}</b>" if c["excludes_zero"] else text

    rows = []
    for name, segment in segments.items():
        users = segment["users"]
        label = f"{html.escape(name)} ({users['risk']:,} / {users['age']:,} / {users['income']:,})"
        for model, scores in segment["models"].items():
            rows.append([label, model, *(value(scores[task], metric) for task, metric, _, _ in HEADLINE)])
        rows.append([label, "student - gbm_text", *(difference(segment["student - gbm_text"][key]) for _, _, key, _ in HEADLINE)])
    return rows, ["segment (users: risk / age / income)", "model", *(title for *_, title in HEADLINE)]


def write_report(
    path: Path,
    metrics: dict[str, Any],
    models: dict[str, ScoredModel],
    labels: TestLabels,
    prep: Preprocessing,
    risk_by_month: dict[str, np.ndarray],
    histories: dict[str, list[dict]],
    gate_usage: list[list[list[float]]],
    experts_per_task: int,
    encoder_plots: list[Path],
) -> None:
    scores = metrics["models"]
    model_rows = [
        [
            name,
            f"{s['risk']['auc']:.4f}", f"{s['risk']['ks']:.4f}", f"{s['risk']['gini']:.4f}",
            f"{s['age']['accuracy']:.4f}", f"{s['age']['macro_f1']:.4f}",
            f"{s['income']['mae_mxn']:,.0f}", f"{s['income']['spearman']:.4f}",
        ]
        for name, s in scores.items()
    ]
    comparison_rows = []
    for pair, by_metric in metrics["comparisons"].items():
        for metric, c in by_metric.items():
            verdict = "<b>yes</b>" if c["excludes_zero"] else "no"
            comparison_rows.append(
                [pair, metric, f"{c['difference']:+.4f}", f"[{c['ci95_low']:+.4f}, {c['ci95_high']:+.4f}]", verdict]
            )
    distillation = metrics["distillation"]
    readout_rows = [
        [f"{name} encoder" if name != "lexical" else "lexical (word pieces)", f"{r['risk']['auc']:.4f}", f"{r['age']['macro_f1']:.4f}", f"{r['income']['spearman']:.4f}"]
        for name, r in metrics.get("text_readout_alone", {}).items()
    ]
    calibration_rows = [
        [name, f"{c['slope']:.3f}", f"{c['intercept']:+.3f}", f"{c['test']['observed_rate']:.4f}",
         f"{c['test']['mean_predicted_raw']:.4f}", f"{c['test']['mean_predicted']:.4f}",
         f"{c['test']['log_loss_raw']:.4f}", f"{c['test']['log_loss']:.4f}"]
        for name, c in metrics.get("risk_calibration", {}).items()
    ]
    segment_tables = "".join(
        f"<h3>{html.escape(title)}</h3>" + _table(*segment_rows(metrics["segments"][key]))
        for key, title in (("by_records", "By record count (thin and thick files)"), ("by_label_history", "By label history"))
        if key in metrics.get("segments", {})
    )
    images = {
        "ROC and KS": roc_and_ks(models, labels),
        "Risk score distribution per month": score_distribution(risk_by_month),
        "Calibration": calibration(models, labels),
        "Age confusion matrix": age_confusion(models["student"], labels),
        "Income predicted vs actual": income_scatter(models["student"], labels, prep),
        "PLE gate utilisation": gate_utilisation(gate_usage, experts_per_task),
        "Segments: student - gbm_text (green: a win, red: a loss, black: the interval holds 0)": segment_differences(metrics["segments"]),
        "Training curves": training_curves(histories),
    }
    for plot in encoder_plots:
        if plot.is_file():
            images["Encoder: masked-LM and TinyBERT general distillation losses"] = base64.b64encode(plot.read_bytes()).decode()
    figures = "".join(f"<h2>{html.escape(t)}</h2><img src='data:image/png;base64,{b}'/>" for t, b in images.items())
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>ridecredit model {html.escape(metrics['version'])}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1250px}} table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}} th{{background:#f3f3f3}} img{{max-width:100%}}</style></head><body>
<h1>ridecredit model {html.escape(metrics['version'])}</h1>
<p>Profile <b>{html.escape(metrics['profile'])}</b>, seed {metrics['seed']}. Training months {', '.join(metrics['split']['train'])};
validation {', '.join(metrics['split']['valid'])}; test {', '.join(metrics['split']['test'])}. Every figure is on the test month.</p>
<h2>Models</h2>{_table(model_rows, ['model', 'risk AUC', 'KS', 'Gini', 'age accuracy', 'age macro-F1', 'income MAE (MXN)', 'income Spearman'])}
<h2>Comparisons (paired bootstrap, {metrics['bootstrap_samples']} resamples of the test users)</h2>
<p>"Separated from zero" says whether the 95% interval of the difference excludes 0.</p>
{_table(comparison_rows, ['a - b', 'metric', 'difference', '95% interval', 'separated from zero'])}
<h2>Segments of the test month</h2><p>The same figures on parts of the test users, with student - gbm_text and its
paired bootstrap interval (<b>bold</b>: the interval excludes 0). A thin file has few records in the sequences' window;
"labelled before" users had the task's label in a training or validation month.</p>{segment_tables}
<h2>Distillation</h2><p>Teacher {distillation['teacher_params']:,} parameters, student {distillation['student_params']:,}
(ratio {distillation['ratio']:.3f}). Retention (student - no_text) / (teacher - no_text): risk {distillation['retention']['risk']:.3f},
age {distillation['retention']['age']:.3f}, income {distillation['retention']['income']:.3f}.</p>
<h2>Risk calibration</h2><p>Each network's risk probability is sigmoid(slope &times; logit + intercept), Platt scaling
fitted on the validation month ({', '.join(metrics['split']['valid'])}): a network's raw probabilities can rank well and
still be off in level (the demo student's were too low: <code>ml.model.calibration</code>). Test month, users with a risk label; the calibration plot below shows the calibrated ones.</p>
{_table(calibration_rows, ['model', 'slope', 'intercept', 'observed rate', 'mean predicted, raw', 'mean predicted', 'log-loss, raw', 'log-loss'])}
<h2>What the field texts alone say</h2><p>The cross-fitted ridge read-out of each encoder's field vectors on its own
(no numbers, no sequence), fitted on the training months: the text signal the credit models start from.</p>
{_table(readout_rows, ['read-out', 'risk AUC', 'age macro-F1', 'income Spearman'])}
{figures}</body></html>"""
    path.write_text(page)
