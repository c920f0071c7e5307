"""Jinja context for `sqlfluff lint` with the fast jinja templater (no database needed).

sqlfluff's dbt builtins make `var()` return a placeholder string; the models loop over list
vars and compute with number vars, so `var` here returns the real values from
dbt_project.yml. `adapter.get_columns_in_relation` returns two sample numeric columns so
models that unpivot every feature column render to valid SQL.
"""

from __future__ import annotations

import os
import re as _re
from pathlib import Path
from typing import Any

import yaml

_PROJECT = yaml.safe_load((Path(__file__).resolve().parents[2] / "dbt_project.yml").read_text())
_VARS: dict[str, Any] = _PROJECT.get("vars", {})


def var(name: str, default: Any = None) -> Any:
    return _VARS.get(name, default)


def env_var(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


class _Column:
    def __init__(self, name: str, dtype: str) -> None:
        self.name, self.dtype = name, dtype


class _Adapter:
    def get_columns_in_relation(self, relation: Any) -> list[_Column]:
        return [_Column("rides_30d", "bigint"), _Column("night_share", "double")]

    def dispatch(self, name: str, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(name)


adapter = _Adapter()


class _Modules:
    re = _re


modules = _Modules()
execute = True
