-- The order-independent aggregates (macros/exact_aggregates.sql) give Spark's own result to
-- 1e-9, relative: on ordinary values, nulls, a lone value, an empty group, values beyond the
-- fixed-point range, and NaN or infinity, which must still come out non-finite.
with

cases as (

    select
        group_id,
        x
    from values
        (1, 1.5), (1, 2.25), (1, null), (1, 0.1), (1, 0.2),
        (2, cast('NaN' as double)), (2, 1.0),
        (3, cast('Infinity' as double)), (3, 1.0),
        (4, 1e16), (4, 2.0),
        (5, 3.0),
        (6, cast(null as double)),
        (7, 123456.789), (7, 0.000001), (7, 98765.4321)
            as t (group_id, x)

),

aggregated as (

    select
        group_id,
        {{ exact_sum('x') }} as exact_sum,
        sum(x) as spark_sum,
        {{ exact_avg('x') }} as exact_avg,
        avg(x) as spark_avg,
        {{ exact_stddev('x', 'samp') }} as exact_stddev_samp,
        stddev_samp(x) as spark_stddev_samp,
        {{ exact_stddev('x', 'pop') }} as exact_stddev_pop,
        stddev_pop(x) as spark_stddev_pop
    from cases
    group by group_id

)

select *
from aggregated
where
    false
    {%- for name in ['sum', 'avg', 'stddev_samp', 'stddev_pop'] %}
        or not (
            equal_null(exact_{{ name }}, spark_{{ name }})
            -- Spark orders NaN above every number, so NaN <= NaN holds: keep NaN out of the tolerance
            or (
                not isnan(exact_{{ name }}) and not isnan(spark_{{ name }})
                and abs(exact_{{ name }} - spark_{{ name }}) <= 1e-9 * greatest(abs(spark_{{ name }}), 1)
            )
        )
    {%- endfor %}
