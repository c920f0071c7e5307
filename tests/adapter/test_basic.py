"""dbt-tests-adapter's basic suite: materializations, tests, ephemeral, incremental, on sparkpy."""

import pytest
from dbt.tests.adapter.basic.test_base import BaseSimpleMaterializations
from dbt.tests.adapter.basic.test_empty import BaseEmpty
from dbt.tests.adapter.basic.test_ephemeral import BaseEphemeral
from dbt.tests.adapter.basic.test_generic_tests import BaseGenericTests
from dbt.tests.adapter.basic.test_incremental import BaseIncremental
from dbt.tests.adapter.basic.test_singular_tests import BaseSingularTests
from dbt.tests.adapter.basic.test_singular_tests_ephemeral import BaseSingularTestsEphemeral
from dbt.tests.adapter.basic.test_table_materialization import BaseTableMaterialization

# The upstream base classes declare class-scoped fixtures as methods, which pytest 9 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestRemovedIn10Warning")


class TestSimpleMaterializationsSparkPy(BaseSimpleMaterializations):
    pass


class TestSingularTestsSparkPy(BaseSingularTests):
    pass


class TestSingularTestsEphemeralSparkPy(BaseSingularTestsEphemeral):
    pass


class TestEmptySparkPy(BaseEmpty):
    pass


class TestEphemeralSparkPy(BaseEphemeral):
    pass


class TestIncrementalSparkPy(BaseIncremental):
    pass


class TestGenericTestsSparkPy(BaseGenericTests):
    pass


class TestTableMaterializationSparkPy(BaseTableMaterialization):
    pass
