"""Run a compiled dbt Python model in this process, on the SparkSession that runs the SQL."""

from __future__ import annotations

import contextlib
import linecache
import traceback
from pathlib import Path
from typing import Any, Iterator

from dbt.adapters.base import PythonJobHelper
from dbt.adapters.spark.connections import SparkConnectionMethod
from dbt_common.exceptions import DbtRuntimeError
from pyspark.sql import SparkSession

from dbt.adapters.sparkpy.connections import SparkPyCredentials

# Set by SparkPyAdapter.submit_python_job: dbt's node carries paths relative to the project only.
PROJECT_ROOT_KEY = "sparkpy_project_root"


def session_for(credentials: SparkPyCredentials) -> SparkSession:
    """The session dbt-spark's ``session`` method uses for SQL.

    ``SparkSession.getActiveSession()`` is thread-local and returns None in dbt's worker
    threads, so build it the way dbt-spark's cursor does: ``getOrCreate`` returns the
    one JVM session, configured from the profile's ``server_side_parameters``.
    """
    builder = SparkSession.builder.enableHiveSupport()
    for key, value in credentials.server_side_parameters.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def blank_lines_stripped(project_root: str | None, model_path: str, raw_code: str) -> int:
    """How many lines dbt cut from the top of the model file (it strips a file before parsing).

    0 when the file cannot be read or is not the code dbt parsed (e.g. a package's model).
    """
    if not project_root:
        return 0
    try:
        text = (Path(project_root) / model_path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return 0
    if text.strip() != raw_code:
        return 0
    return text[: len(text) - len(text.lstrip())].count("\n")


def split_submitted_code(submitted: str, raw_code: str, first_line: int = 1) -> tuple[str, str]:
    """(the model's own code, dbt's code after it), from what the materialization submits.

    dbt compiles a Python model to its raw code, then dbt's ``ref``/``config`` helpers, and the
    materialization appends ``py_write_table``. Kept apart, the model's part compiles under the
    model's file name, padded so that its code starts on ``first_line``, the line it has in the
    file. dbt's part is padded so its numbers are those of the compiled file (``target/compiled``).
    """
    start = submitted.find(raw_code) if raw_code else -1
    if start < 0 or submitted[:start].strip():
        # Not dbt's usual layout: run it whole, as the model (create_table_as indents line one).
        return submitted.lstrip(), ""
    end = start + len(raw_code)
    return "\n" * (first_line - 1) + raw_code, "\n" * raw_code.count("\n") + submitted[end:]


@contextlib.contextmanager
def sources_in_linecache(sources: dict[str, str]) -> Iterator[None]:
    """Let tracebacks (and warnings) show the model's source lines, whatever the working directory."""
    saved = {name: linecache.cache.get(name) for name in sources}
    for name, text in sources.items():
        linecache.cache[name] = (len(text), None, text.splitlines(keepends=True), name)
    try:
        yield
    finally:
        for name, entry in saved.items():
            if entry is None:
                linecache.cache.pop(name, None)
            else:
                linecache.cache[name] = entry


def describe_model_failure(exc: BaseException, model_path: str, code_files: tuple[str, ...]) -> str:
    """The headline (exception, model file and line) and the traceback from the model's code down."""
    tb = traceback.TracebackException.from_exception(exc)
    frames = list(tb.stack)
    first = next((i for i, frame in enumerate(frames) if frame.filename in code_files), 0)
    tb.stack = traceback.StackSummary.from_list(frames[first:])
    in_model = [frame for frame in frames if frame.filename == model_path]
    if isinstance(exc, SyntaxError) and exc.filename == model_path:
        where = f"{model_path}, line {exc.lineno}"
    elif in_model:
        where = f"{model_path}, line {in_model[-1].lineno}, in {in_model[-1].name}"
    else:
        where = f"dbt's materialization code for {model_path}"
    summary = next(iter(str(exc).splitlines()), "")  # the full text ends the traceback
    headline = f"Python model {model_path} raised {type(exc).__name__} at {where}: {summary}"
    return headline + "\n" + "".join(tb.format()).rstrip()


class SessionPythonJobHelper(PythonJobHelper):
    """``submission_method: session``: exec the compiled model code with ``spark`` bound."""

    def __init__(self, parsed_model: dict[str, Any], credentials: SparkPyCredentials) -> None:
        self.unique_id: str = parsed_model.get("unique_id", parsed_model.get("alias", "?"))
        if credentials.method != SparkConnectionMethod.SESSION:
            raise DbtRuntimeError(
                f"Python model {self.unique_id} cannot run with `method: {credentials.method}`: "
                "Python models execute in-process on a SparkSession and need `method: session` "
                "in the profile (e.g. `--target local` or `--target cluster`). "
                "The thrift target runs SQL models only; exclude Python models with "
                "`--exclude config.language:python`."
            )
        self.credentials = credentials
        self.raw_code: str = parsed_model.get("raw_code") or ""
        self.model_path: str = parsed_model.get("original_file_path") or f"<dbt python model {self.unique_id}>"
        self.dbt_code_path = f"<dbt materialization of {self.model_path}>"
        self.first_line = 1 + blank_lines_stripped(parsed_model.get(PROJECT_ROOT_KEY), self.model_path, self.raw_code)

    def submit(self, compiled_code: str) -> SparkSession:
        """Run the model; an exception in it is a dbt runtime error naming the model's file and line.

        Raised as it is, a TypeError would reach dbt's Jinja layer, which reports it as a
        "Compilation Error" without a traceback; other exceptions as "Unhandled error".
        """
        spark = session_for(self.credentials)
        model_code, dbt_code = split_submitted_code(compiled_code, self.raw_code, self.first_line)
        units = {self.model_path: model_code, self.dbt_code_path: dbt_code}
        namespace: dict[str, Any] = {"__name__": "__dbt_python_model__", "spark": spark}
        with sources_in_linecache(units):
            try:
                for filename, code in units.items():
                    exec(compile(code, filename=filename, mode="exec"), namespace)  # noqa: S102 - running the model
            except Exception as exc:
                message = describe_model_failure(exc, self.model_path, tuple(units))
                raise DbtRuntimeError(message) from exc
        return spark
