{#
  score_months(column): the months a scoring run covers, as a where-condition on `column`.
  dbt vars score_dt_from and score_dt_to (inclusive, 'YYYY-MM-01'); unset = every month.
  `dbt run --select scores --vars '{score_dt_from: 2026-05-01, score_dt_to: 2026-05-01}'`
  rescores May only; every other partition is left as it is.
#}
{% macro score_months(column='dt') -%}
    {%- set low = var('score_dt_from', none) -%}
    {%- set high = var('score_dt_to', none) -%}
    {{ column }} >= {{ "'" ~ low ~ "'" if low else "''" }}
    and {{ column }} <= {{ "'" ~ high ~ "'" if high else "'9999-12-31'" }}
{%- endmacro %}
