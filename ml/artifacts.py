"""Model artifacts: versioned directories, the ``latest`` pointer and the sha256 manifest.

    artifacts/models/<version>/
        encoder/{teacher,student}/    save_pretrained (weights, config, tokenizer)
        head/{student,teacher,no_text}.safetensors, head/model.json
        trees/{risk,age,income}.txt, trees/scale.json   the LightGBM trees whose scores the heads read
        preprocessing.json            the stored parameters the model was trained with
        profile.json                  the model profile that made it
        metrics.json, report.html
        manifest.json                 sha256 of every other file
    artifacts/models/latest -> <version>

Training and scoring share the manifest check: a model whose files do not match their
recorded hashes, or with a file missing or added, is refused before anything reads it.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

MANIFEST = "manifest.json"
DEFAULT_ROOT = Path("artifacts/models")


class ManifestError(RuntimeError):
    """A model directory that does not match its manifest."""


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _files(model_dir: Path) -> list[str]:
    return sorted(
        p.relative_to(model_dir).as_posix() for p in model_dir.rglob("*") if p.is_file() and p.name != MANIFEST
    )


def write_manifest(model_dir: Path) -> dict[str, str]:
    files = {name: sha256(model_dir / name) for name in _files(model_dir)}
    (model_dir / MANIFEST).write_text(json.dumps({"files": files}, indent=2, sort_keys=True))
    return files


def verify_manifest(model_dir: str | Path) -> str:
    """Check every file against ``manifest.json``; return the manifest's own sha256 (the model's id)."""
    model_dir = Path(model_dir)
    manifest_path = model_dir / MANIFEST
    if not manifest_path.is_file():
        raise ManifestError(f"model {model_dir}: no {MANIFEST}; run `python -m ml.export --model {model_dir}` or retrain")
    recorded = json.loads(manifest_path.read_text())["files"]
    present = set(_files(model_dir))
    for name in sorted(set(recorded) - present):
        raise ManifestError(f"model {model_dir}: file {name} is in the manifest but missing")
    for name in sorted(present - set(recorded)):
        raise ManifestError(f"model {model_dir}: file {name} is not in the manifest (an extra file)")
    for name in sorted(recorded):
        actual = sha256(model_dir / name)
        if actual != recorded[name]:
            raise ManifestError(f"model {model_dir}: file {name} has sha256 {actual[:16]}..., manifest says {recorded[name][:16]}...")
    return sha256(manifest_path)


def point_latest(model_dir: Path) -> Path:
    """Make ``<root>/latest`` point at ``model_dir`` (a relative symlink, replaced atomically)."""
    link = model_dir.parent / "latest"
    tmp = model_dir.parent / f".latest-{os.getpid()}"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(model_dir.name)
    os.replace(tmp, link)
    return link
