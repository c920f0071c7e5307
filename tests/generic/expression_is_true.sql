{#
    expression_is_true: `expression` holds on every row; returns the rows where it does not.
    Model-level, or on a column: with column_name the expression is appended to it
    (`column_name ~ ' ' ~ expression`, e.g. column amount + expression ">= 0"), as in dbt_utils.

    Null semantics (as dbt_utils.expression_is_true): a row fails only when the expression
    is false. Rows are selected with `where not (expression)`, and not(null) is null, so a
    row where the expression evaluates to NULL passes. To fail on nulls, say so in the
    expression: "coalesce(a > b, false)" or "a is not null and a > b".

    `where`: in YAML (under config: or arguments:) dbt turns it into the test's where config
    and filters `model` before this SQL runs; the argument applies the same filter when the
    test macro is called directly.
#}
{% test expression_is_true(model, expression, column_name=none, where=none) %}
    {%- set condition = (column_name ~ " " ~ expression) if column_name is not none else expression %}

select *
from {{ model }}
where
    not ({{ condition }})
    {%- if where %}
    and ({{ where }})
    {%- endif %}

{% endtest %}
