"""The ``sparkpy`` adapter: dbt-spark with an in-process Python submission method."""

from typing import Any, Dict, Type

from dbt.adapters.base import PythonJobHelper
from dbt.adapters.contracts.connection import AdapterResponse
from dbt.adapters.spark.impl import SparkAdapter

from dbt.adapters.sparkpy.connections import SparkPyConnectionManager
from dbt.adapters.sparkpy.python_submissions import PROJECT_ROOT_KEY, SessionPythonJobHelper


class SparkPyAdapter(SparkAdapter):
    ConnectionManager = SparkPyConnectionManager

    @property
    def default_python_submission_method(self) -> str:
        return "session"

    @property
    def python_submission_helpers(self) -> Dict[str, Type[PythonJobHelper]]:
        return {**super().python_submission_helpers, "session": SessionPythonJobHelper}

    def submit_python_job(self, parsed_model: dict, compiled_code: str) -> AdapterResponse:
        """dbt's submission, with the project root the session helper reads the model file from."""
        project_root = getattr(self.config, "project_root", None)
        return super().submit_python_job({**parsed_model, PROJECT_ROOT_KEY: project_root}, compiled_code)

    def generate_python_submission_response(self, submission_result: Any) -> AdapterResponse:
        return AdapterResponse(_message="OK (python, in-process)")
