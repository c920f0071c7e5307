{#
  psi_below(threshold, period_column='dt', base_period=none): the column's distribution may
  not drift. PSI of the column in every period against the base period (default: the
  earliest period), with the binning of macros/psi.sql; fails one row per period whose PSI
  is at or above `threshold` (default var psi_watch_max). Nulls are a bin of their own.
#}
{% test psi_below(model, column_name, threshold=none, period_column='dt', base_period=none) %}
    {%- set limit = threshold if threshold is not none else var('psi_watch_max') %}
with

long_values as (

    select
        '{{ column_name }}' as feature_name,
        {{ period_column }} as period,
        cast({{ column_name }} as double) as metric_value
    from {{ model }}

),

psi as (

    {{ psi_by_period('long_values', ("'" ~ base_period ~ "'") if base_period else '(select min(period) from long_values)') | indent(4) }}

)

select feature_name, period, n_rows, psi
from psi
where psi >= {{ limit }}
{% endtest %}
