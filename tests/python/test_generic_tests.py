"""tests/generic/*.sql: each generic test passes and fails exactly where it should.

A throw-away project gets copies of the five generic tests (listed by name: psi_below and
any half-written neighbour stay out), two tiny models built from `values` with nulls,
duplicates and out-of-range values, and a _models.yml applying every test in passing and
failing configurations. One `dbt test` runs them all; the test then checks every test's
status and failure count, so an implementation that is too lax or too strict shows up.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import REPO, run_dbt, write_project

GENERIC_TESTS = (
    "accepted_range",
    "expression_is_true",
    "unique_combination_of_columns",
    "row_count_between",
    "not_null_proportion",
)

# id 5 twice (once with grp null twice), amount null once, -5 and 150 outside [0, 100],
# qty null once: 7 rows.
ORDERS_SQL = """
select * from values
    (1, 'a', 10.0D, 1),
    (2, 'a', 20.0D, 2),
    (3, 'b', null, 3),
    (4, 'b', 150.0D, null),
    (5, null, -5.0D, 5),
    (5, null, 0.0D, 6),
    (6, 'c', 100.0D, 7)
as t (id, grp, amount, qty)
"""

EMPTY_SQL = "select * from {{ ref('gt_orders') }} where false\n"

MODELS_YML = """
version: 2
models:
  - name: gt_orders
    data_tests:
      # expression_is_true, model level
      - expression_is_true:
          name: eit_pass_null_is_not_false  # qty null -> expression null -> passes
          arguments: {expression: "qty > 0"}
      - expression_is_true:
          name: eit_fail_two_rows  # 150 and 100 fail; the null amount passes
          arguments: {expression: "amount < 100"}
      - expression_is_true:
          name: eit_pass_with_where
          arguments: {expression: "amount < 100"}
          config: {where: "amount <> 150 and id <> 6"}
      # unique_combination_of_columns
      - unique_combination_of_columns:
          name: ucc_pass
          arguments: {combination_of_columns: [id, amount]}
      - unique_combination_of_columns:
          name: ucc_fail_duplicate_id
          arguments: {combination_of_columns: [id]}
      - unique_combination_of_columns:
          name: ucc_fail_nulls_group_together  # (null, 5) twice
          arguments: {combination_of_columns: [grp, id]}
      - unique_combination_of_columns:
          name: ucc_pass_quoted
          arguments: {combination_of_columns: [grp, qty], quote_columns: true}
      - unique_combination_of_columns:
          name: ucc_pass_with_where
          arguments: {combination_of_columns: [id]}
          config: {where: "amount >= 0"}
      # row_count_between
      - row_count_between:
          name: rcb_pass_exact_bounds
          arguments: {min_value: 7, max_value: 7}
      - row_count_between:
          name: rcb_fail_min
          arguments: {min_value: 8}
      - row_count_between:
          name: rcb_fail_max
          arguments: {max_value: 6}
      - row_count_between:
          name: rcb_pass_with_where
          arguments: {min_value: 2, max_value: 2}
          config: {where: "grp = 'a'"}
      - row_count_between:
          name: rcb_fail_where_in_arguments  # dbt routes arguments.where to the where config
          arguments: {min_value: 3, where: "grp = 'a'"}
    columns:
      - name: amount
        data_tests:
          - accepted_range:
              name: ar_pass_nulls_pass
              arguments: {min_value: -5, max_value: 150}
          - accepted_range:
              name: ar_fail_two_rows  # -5 and 150
              arguments: {min_value: 0, max_value: 100}
          - accepted_range:
              name: ar_fail_exclusive_bounds  # -5 and 150 sit on the bounds
              arguments: {min_value: -5, max_value: 150, inclusive: false}
          - accepted_range:
              name: ar_pass_only_max
              arguments: {max_value: 150}
          - accepted_range:
              name: ar_pass_with_where
              arguments: {min_value: 0, max_value: 100}
              config: {where: "grp = 'a'"}
          - expression_is_true:
              name: eit_fail_column_level  # "amount >= 0": -5 fails, null passes
              arguments: {expression: ">= 0"}
          - not_null_proportion:
              name: nnp_pass  # 6 / 7 = 0.857
              arguments: {at_least: 0.85}
          - not_null_proportion:
              name: nnp_fail_at_least
              arguments: {at_least: 0.9}
          - not_null_proportion:
              name: nnp_fail_at_most
              arguments: {at_least: 0.5, at_most: 0.8}
          - not_null_proportion:
              name: nnp_pass_with_where  # the null row is filtered out: 6 / 6
              arguments: {at_least: 1.0}
              config: {where: "id <> 3"}
          - not_null_proportion:
              name: nnp_fail_nothing_left_after_where
              arguments: {at_least: 0}
              config: {where: "id > 100"}
  - name: gt_empty
    columns:
      - name: amount
        data_tests:
          - not_null_proportion:
              name: nnp_fail_empty_model
              arguments: {at_least: 0}
              config: {store_failures: true}
          - accepted_range:
              name: ar_pass_empty_model
              arguments: {min_value: 0}
"""

# The `where` argument itself, reachable only by calling the test macro directly.
SINGULAR_TESTS = {
    "tests/direct_ar_where_arg_pass.sql": (
        "{{ test_accepted_range(model=ref('gt_orders'), column_name='amount', "
        "min_value=0, max_value=100, where=\"grp = 'a'\") }}\n"
    ),
    "tests/direct_rcb_where_arg_fail.sql": (
        "{{ test_row_count_between(model=ref('gt_orders'), min_value=3, where=\"grp = 'a'\") }}\n"
    ),
    "tests/direct_eit_where_arg_pass.sql": (
        "{{ test_expression_is_true(model=ref('gt_orders'), expression='amount < 100', "
        "where='amount <> 150 and id <> 6') }}\n"
    ),
    "tests/direct_ucc_where_arg_pass.sql": (
        "{{ test_unique_combination_of_columns(model=ref('gt_orders'), combination_of_columns=['id'], "
        "where='amount >= 0') }}\n"
    ),
    "tests/direct_nnp_where_arg_pass.sql": (
        "{{ test_not_null_proportion(model=ref('gt_orders'), column_name='amount', at_least=1.0, "
        "where='id <> 3') }}\n"
    ),
}

# name -> (status, failures)
EXPECTED = {
    "eit_pass_null_is_not_false": ("pass", 0),
    "eit_fail_two_rows": ("fail", 2),
    "eit_pass_with_where": ("pass", 0),
    "eit_fail_column_level": ("fail", 1),
    "ucc_pass": ("pass", 0),
    "ucc_fail_duplicate_id": ("fail", 1),
    "ucc_fail_nulls_group_together": ("fail", 1),
    "ucc_pass_quoted": ("pass", 0),
    "ucc_pass_with_where": ("pass", 0),
    "rcb_pass_exact_bounds": ("pass", 0),
    "rcb_fail_min": ("fail", 1),
    "rcb_fail_max": ("fail", 1),
    "rcb_pass_with_where": ("pass", 0),
    "rcb_fail_where_in_arguments": ("fail", 1),
    "ar_pass_nulls_pass": ("pass", 0),
    "ar_fail_two_rows": ("fail", 2),
    "ar_fail_exclusive_bounds": ("fail", 2),
    "ar_pass_only_max": ("pass", 0),
    "ar_pass_with_where": ("pass", 0),
    "nnp_pass": ("pass", 0),
    "nnp_fail_at_least": ("fail", 1),
    "nnp_fail_at_most": ("fail", 1),
    "nnp_pass_with_where": ("pass", 0),
    "nnp_fail_nothing_left_after_where": ("fail", 1),
    "nnp_fail_empty_model": ("fail", 1),
    "ar_pass_empty_model": ("pass", 0),
    "direct_ar_where_arg_pass": ("pass", 0),
    "direct_rcb_where_arg_fail": ("fail", 1),
    "direct_eit_where_arg_pass": ("pass", 0),
    "direct_ucc_where_arg_pass": ("pass", 0),
    "direct_nnp_where_arg_pass": ("pass", 0),
}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_project(
        tmp_path_factory.mktemp("generic_tests_project"),
        "generic_tests_fx",
        {
            "models/gt_orders.sql": ORDERS_SQL,
            "models/gt_empty.sql": EMPTY_SQL,
            "models/_models.yml": MODELS_YML,
            **SINGULAR_TESTS,
        },
    )
    (root / "tests" / "generic").mkdir(parents=True)
    for name in GENERIC_TESTS:
        shutil.copy(REPO / "tests" / "generic" / f"{name}.sql", root / "tests" / "generic" / f"{name}.sql")
    return root


@pytest.fixture(scope="module")
def tested(project: Path):
    """`dbt run`, then `dbt test` (not `build`, which would skip gt_empty after gt_orders fails)."""
    run = run_dbt(["run"], project)
    assert sorted(r.node.name for r in run.result.results) == ["gt_empty", "gt_orders"]
    return run_dbt(["test", "--threads", "8"], project, expect_success=False)


def test_every_generic_test_passes_or_fails_as_expected(tested) -> None:
    results = tested.result.results
    errors = {r.node.name: r.message for r in results if str(r.status) == "error"}
    assert not errors, errors
    tests = {r.node.name: (str(r.status), r.failures) for r in results}
    assert tests == EXPECTED, {k: (tests.get(k), EXPECTED.get(k)) for k in tests.keys() | EXPECTED.keys()
                               if tests.get(k) != EXPECTED.get(k)}


def test_empty_model_fails_with_a_reason(tested, spark) -> None:
    [stored] = [r.node.relation_name for r in tested.result.results if r.node.name == "nnp_fail_empty_model"]
    rows = [row.asDict() for row in spark.table(stored.replace("`", "")).collect()]
    assert rows == [
        {"row_count": 0, "not_null_count": 0, "not_null_proportion": None, "failure_reason": "no rows"}
    ]
