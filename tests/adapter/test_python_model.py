"""dbt-tests-adapter's Python-model suite, run in-process on open-source Spark by sparkpy."""

import pytest
from dbt.tests.adapter.python_model.test_python_model import (
    BasePythonEmptyTests,
    BasePythonIncrementalTests,
    BasePythonMetaGetTests,
    BasePythonModelTests,
    BasePythonSampleTests,
)
from dbt.tests.adapter.python_model.test_spark import BasePySparkTests
from dbt.tests.util import relation_from_name, run_dbt

# The upstream base classes declare class-scoped fixtures as methods, which pytest 9 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestRemovedIn10Warning")


class TestPythonModelSparkPy(BasePythonModelTests):
    pass


class TestPythonIncrementalSparkPy(BasePythonIncrementalTests):
    @pytest.fixture(scope="class")
    def project_config_update(self) -> dict:
        # Overridden: the base class sets `merge`, which dbt-spark allows only for Delta, Iceberg
        # and Hudi tables (jars this project does not ship). `append` is Spark's default and
        # what the test's filter (`id > 5` on incremental runs) expects; dbt-spark does the same.
        return {"models": {"+incremental_strategy": "append"}}


class TestPythonMetaGetSparkPy(BasePythonMetaGetTests):
    pass


class TestPythonEmptySparkPy(BasePythonEmptyTests):
    pass


class TestPythonSampleSparkPy(BasePythonSampleTests):
    pass


class TestPySparkSparkPy(BasePySparkTests):
    def test_different_dataframes(self, project) -> None:
        # Overridden: the base class also runs a model on `databricks.koalas`, Databricks' package
        # for Spark < 3.2, since merged into Spark as pyspark.pandas (tested here). dbt-spark
        # excludes it too. pandas, PySpark and pandas-on-Spark frames must all be written.
        results = run_dbt(["run", "--exclude", "koalas_df"])
        assert sorted(result.node.name for result in results) == ["pandas_df", "pandas_on_spark_df", "pyspark_df"]
        for name in ("pandas_df", "pandas_on_spark_df", "pyspark_df"):
            relation = relation_from_name(project.adapter, name)
            rows = project.run_sql(f"select City, Country from {relation} order by City", fetch="all")
            assert [tuple(row) for row in rows][:2] == [("Bogota", "Colombia"), ("Brasilia", "Brazil")], name
            assert len(rows) == 5, name
