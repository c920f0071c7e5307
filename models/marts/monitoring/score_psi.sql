-- PSI of each score (risk probability, age bucket, income in MXN) in every scored month
-- against the PSI base month (int_snapshot_calendar.psi_base_dt, the last training month by
-- default), for the model version that scored it.
{{ config(tags=['scoring']) }}

with

risk_scores as (

    select * from {{ ref('risk_scores') }}

),

age_scores as (

    select * from {{ ref('age_scores') }}

),

income_scores as (

    select * from {{ ref('income_scores') }}

),

calendar as (

    select
        dt,
        psi_base_dt
    from {{ ref('int_snapshot_calendar') }}

),

long_values as (

    select
        'risk_prob' as feature_name,
        dt as period,
        risk_prob as metric_value
    from risk_scores
    union all
    select
        'age_bucket' as feature_name,
        dt as period,
        cast(age_bucket as double) as metric_value
    from age_scores
    union all
    select
        'income_mxn' as feature_name,
        dt as period,
        income_mxn as metric_value
    from income_scores

),

psi as (

    {{ psi_by_period('long_values', "(select max(psi_base_dt) from calendar)") | indent(4) }}

),

versions as (

    select
        dt,
        max(model_version) as model_version
    from risk_scores
    group by dt

)

select
    psi.feature_name as score_name,
    psi.period as dt,
    calendar.psi_base_dt as base_dt,
    versions.model_version,
    psi.n_rows,
    psi.psi,
    {{ psi_band('psi.psi') }} as psi_band
from psi
inner join calendar
    on psi.period = calendar.dt
inner join versions
    on psi.period = versions.dt
