{#
    not_null_proportion: the share of rows where `column_name` is not null lies within
    [at_least, at_most] (both inclusive, at_most defaults to 1), as dbt_expectations /
    dbt_utils not_null_proportion. NaN is a value, not a null.

    Fails with one row (row_count, not_null_count, not_null_proportion, failure_reason),
    passes with none. An empty model (or nothing left after `where`) fails: the
    proportion of nothing is undefined, so it is reported as null with
    failure_reason = 'no rows', rather than passing silently as dbt_utils does.

    `where`: in YAML (under config: or arguments:) dbt turns it into the test's where config
    and filters `model` before this SQL runs; the argument applies the same filter when the
    test macro is called directly.
#}
{% test not_null_proportion(model, column_name, at_least, at_most=1.0, where=none) %}
    {%- if at_least is not number or at_most is not number or not (0 <= at_least <= at_most <= 1) -%}
        {{ exceptions.raise_compiler_error(
            "not_null_proportion on " ~ model ~ "." ~ column_name
            ~ ": need 0 <= at_least <= at_most <= 1, got at_least=" ~ at_least ~ ", at_most=" ~ at_most
        ) }}
    {%- endif %}

with counted as (

    select
        count(*) as row_count,
        count({{ column_name }}) as not_null_count
    from {{ model }}
    {%- if where %}
    where {{ where }}
    {%- endif %}

),

proportion as (

    select
        row_count,
        not_null_count,
        case when row_count > 0 then not_null_count / row_count end as not_null_proportion
    from counted

)

select
    row_count,
    not_null_count,
    not_null_proportion,
    case
        when row_count = 0 then 'no rows'
        when not_null_proportion < {{ at_least }} then 'below at_least {{ at_least }}'
        else 'above at_most {{ at_most }}'
    end as failure_reason
from proportion
where
    row_count = 0
    or not_null_proportion < {{ at_least }}
    or not_null_proportion > {{ at_most }}

{% endtest %}
