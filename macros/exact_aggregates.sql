{#
  Order-independent aggregates of doubles.

  Spark adds doubles in whatever order the shuffle delivers the partial sums, and floating
  addition is not associative, so `sum`, `avg` and `stddev` of a double column can differ in
  the last bits from one run to the next. Rebuilding a table must give the same bits
  (tests/python/test_project_build.py), so these aggregates round each value once to a
  fixed-point decimal, where addition is exact, and convert back to double at the end.

  exact_sum(expr)            sum of the non-null values, null when there are none.
  exact_avg(expr)            mean of the non-null values, null when there are none.
  exact_stddev(expr, kind)   standard deviation, kind 'samp' (n - 1) or 'pop' (n), from the
                             exact first and second moments; null where Spark's is.

  Values are rounded to 1e-12 (sums and means, |x| < 1e15) or 1e-8 (standard deviations,
  |x| < 1e9, so that sums of squares fit 38 digits). A group holding a NaN, an infinity
  or a value beyond that range gets Spark's own double aggregate instead, so a non-finite
  input still shows as a non-finite result (the `numeric_columns_finite` tests catch it)
  rather than failing the cast.
#}
{% macro _fixed_point(expr, precision, scale, bound) -%}
    cast(case when abs({{ expr }}) < {{ bound }} then {{ expr }} end as decimal({{ precision }}, {{ scale }}))
{%- endmacro %}

{% macro _all_in_range(expr, bound) -%}
    count_if(not abs({{ expr }}) < {{ bound }}) = 0
{%- endmacro %}

{% macro _exact(aggregate, expr) -%}
    case
        when {{ _all_in_range(expr, '1e15') }}
            then cast({{ aggregate }}({{ _fixed_point(expr, 38, 12, '1e15') }}) as double)
        else {{ aggregate }}({{ expr }})
    end
{%- endmacro %}

{% macro exact_sum(expr) -%}
    {{ _exact('sum', expr) }}
{%- endmacro %}

{% macro exact_avg(expr) -%}
    {{ _exact('avg', expr) }}
{%- endmacro %}

{% macro exact_stddev(expr, kind='samp') -%}
    {%- if kind not in ('samp', 'pop') -%}
        {{ exceptions.raise_compiler_error("exact_stddev: kind must be 'samp' or 'pop', got '" ~ kind ~ "'") }}
    {%- endif -%}
    {%- set x = _fixed_point(expr, 20, 8, '1e9') -%}
    {%- set n = "count(" ~ expr ~ ")" -%}
    case
        when not {{ _all_in_range(expr, '1e9') }} then stddev_{{ kind }}({{ expr }})
        when {{ n }} > {{ 1 if kind == 'samp' else 0 }} then sqrt(greatest(
            (cast(sum({{ x }} * {{ x }}) as double)
                - pow(cast(sum({{ x }}) as double), 2) / {{ n }})
            / ({{ n }}{{ ' - 1' if kind == 'samp' }}),
            0
        ))
    end
{%- endmacro %}
