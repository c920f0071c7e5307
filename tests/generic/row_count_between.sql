{#
    row_count_between: the model has between min_value and max_value rows, both inclusive;
    either bound may be omitted, not both. Model-level.

    Fails with exactly one row holding the actual count (row_count) and the bounds; passes
    with none. Nulls: not applicable, count(*) counts every row.

    `where`: in YAML (under config: or arguments:) dbt turns it into the test's where config
    and filters `model` before this SQL runs; the argument applies the same filter when the
    test macro is called directly.
#}
{% test row_count_between(model, min_value=none, max_value=none, where=none) %}
    {%- if min_value is none and max_value is none -%}
        {{ exceptions.raise_compiler_error(
            "row_count_between on " ~ model ~ ": give min_value, max_value or both"
        ) }}
    {%- endif %}

with counted as (

    select count(*) as row_count
    from {{ model }}
    {%- if where %}
    where {{ where }}
    {%- endif %}

)

select
    row_count,
    {{ min_value if min_value is not none else "cast(null as bigint)" }} as min_value,
    {{ max_value if max_value is not none else "cast(null as bigint)" }} as max_value
from counted
where
    -- never true: lets each bound below be added as an `or`
    1 = 2
    {%- if min_value is not none %}
    or row_count < {{ min_value }}
    {%- endif %}
    {%- if max_value is not none %}
    or row_count > {{ max_value }}
    {%- endif %}

{% endtest %}
