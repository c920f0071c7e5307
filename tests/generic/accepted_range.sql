{#
    accepted_range: every value of `column_name` lies within [min_value, max_value]
    (bounds exclusive when inclusive=false); either bound may be omitted, not both.
    Returns the failing rows.

    Null semantics (as dbt_utils.accepted_range): nulls pass. A row fails only where
    `not (column >= min_value)` or `not (column <= max_value)` is true, and for a null
    value those are null, not true. Pair with not_null to forbid nulls.
    NaN and +-infinity fail (dbt_utils lets NaN through a lower bound, because Spark orders
    NaN above every number): with numeric bounds (or finite=true) a row also fails where
    `not (abs(column) < inf)`, which is true for NaN and +-inf and null for null.
    Bounds are SQL expressions, so a date needs quotes: min_value: "'2024-01-01'"; with
    string bounds (dates, vars) the finiteness check is off unless finite=true.

    `where`: in YAML (under config: or arguments:) dbt turns it into the test's where config
    and filters `model` before this SQL runs; the argument applies the same filter when the
    test macro is called directly.
#}
{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true, where=none, finite=none) %}
    {%- if min_value is none and max_value is none -%}
        {{ exceptions.raise_compiler_error(
            "accepted_range on " ~ model ~ "." ~ column_name ~ ": give min_value, max_value or both"
        ) }}
    {%- endif -%}
    {%- set op = "=" if inclusive else "" %}
    {%- set check_finite = finite if finite is not none else (min_value is number or max_value is number) %}

with checked_rows as (

    select *
    from {{ model }}
    {%- if where %}
    where {{ where }}
    {%- endif %}

)

select *
from checked_rows
where
    -- never true: lets each bound below be added as an `or`
    1 = 2
    {%- if min_value is not none %}
    or not ({{ column_name }} >{{ op }} {{ min_value }})
    {%- endif %}
    {%- if max_value is not none %}
    or not ({{ column_name }} <{{ op }} {{ max_value }})
    {%- endif %}
    {%- if check_finite %}
    or not (abs(cast({{ column_name }} as double)) < double('inf'))
    {%- endif %}

{% endtest %}
