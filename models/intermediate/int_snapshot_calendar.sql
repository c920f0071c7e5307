-- The snapshot months scored and trained on, and which window each belongs to.
-- A snapshot at month dt uses only records before dt; the first landed month has no
-- history, so it is not a snapshot. Windows default from the data; vars override them:
-- train_end_dt = all but the last var oot_months months, psi_base_dt = train_end_dt.
with

ride_orders as (

    select landing_dt from {{ ref('stg_platform__ride_orders') }}

),

delivery_orders as (

    select landing_dt from {{ ref('stg_platform__delivery_orders') }}

),

landed_months as (

    select distinct landing_dt as dt from ride_orders
    union
    select distinct landing_dt as dt from delivery_orders

),

first_month as (

    select min(dt) as first_dt from landed_months

),

snapshots as (

    select landed_months.dt
    from landed_months
    cross join first_month
    where landed_months.dt > first_month.first_dt

),

numbered as (

    select
        dt,
        row_number() over (order by dt) as month_number,
        count(*) over () as n_months
    from snapshots

),

windows as (

    select
        *,
        coalesce(
            {{ "'" ~ var('train_end_dt') ~ "'" if var('train_end_dt') else 'null' }},
            max(case when month_number <= n_months - {{ var('oot_months') }} then dt end) over ()
        ) as train_end_dt
    from numbered

),

with_base as (

    -- PSI base: the last training month, whose lookback windows are the fullest in training.
    select
        *,
        coalesce(
            {{ "'" ~ var('psi_base_dt') ~ "'" if var('psi_base_dt') else 'null' }},
            train_end_dt
        ) as psi_base_dt
    from windows

)

select
    dt,
    cast(to_date(dt) as timestamp) as snapshot_ts,
    month_number,
    psi_base_dt,
    train_end_dt,
    dt = psi_base_dt as is_psi_base,
    dt <= train_end_dt as is_train
from with_base
