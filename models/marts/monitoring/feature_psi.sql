-- PSI of every numeric feature of features.user_month_features in every snapshot month,
-- against the base month (var psi_base_dt, default the last training month).
{%- set features = ref('user_month_features') %}
{%- set columns = numeric_feature_columns(features, exclude=['is_train']) %}
with

feature_values as (

    {{ unpivot_features(features, columns, ['dt']) | indent(4) }}

),

long_values as (

    select
        feature_name,
        dt as period,
        value as metric_value
    from feature_values

),

calendar as (

    select
        dt,
        psi_base_dt,
        is_train
    from {{ ref('int_snapshot_calendar') }}

),

psi as (

    {{ psi_by_period('long_values', "(select max(psi_base_dt) from calendar)") | indent(4) }}

)

select
    psi.feature_name,
    psi.period as dt,
    calendar.psi_base_dt as base_dt,
    calendar.is_train,
    psi.n_rows,
    psi.psi,
    {{ psi_band('psi.psi') }} as psi_band
from psi
inner join calendar
    on psi.period = calendar.dt
