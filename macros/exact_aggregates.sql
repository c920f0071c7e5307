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

  Values are rounded to 1e-12 (sums and means) or 1e-8 (standard deviations, whose squares
  must still fit 38 digits); the 12 integer digits of the latter cover every feature here.
#}
{% macro exact_sum(expr) -%}
    cast(sum(cast({{ expr }} as decimal(38, 12))) as double)
{%- endmacro %}

{% macro exact_avg(expr) -%}
    cast(avg(cast({{ expr }} as decimal(38, 12))) as double)
{%- endmacro %}

{% macro exact_stddev(expr, kind='samp') -%}
    {%- if kind not in ('samp', 'pop') -%}
        {{ exceptions.raise_compiler_error("exact_stddev: kind must be 'samp' or 'pop', got '" ~ kind ~ "'") }}
    {%- endif -%}
    {%- set x = "cast(" ~ expr ~ " as decimal(20, 8))" -%}
    {%- set n = "count(" ~ expr ~ ")" -%}
    case
        when {{ n }} > {{ 1 if kind == 'samp' else 0 }} then sqrt(greatest(
            (cast(sum({{ x }} * {{ x }}) as double)
                - pow(cast(sum({{ x }}) as double), 2) / {{ n }})
            / ({{ n }}{{ ' - 1' if kind == 'samp' }}),
            0
        ))
    end
{%- endmacro %}
