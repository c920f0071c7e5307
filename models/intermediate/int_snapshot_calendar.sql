-- The snapshot months scored and trained on, and which window each belongs to.
-- The months come from the declared calendar (vars calendar_start_dt .. calendar_end_dt,
-- macros/row_checks.sql calendar_window), never from the landing folders that happen to
-- exist: staging rejects rows landed outside it. A snapshot at month dt uses only records
-- before dt; the first month has no history, so it is not a snapshot. Windows inside it
-- default from the calendar; vars override them: train_end_dt = all but the last
-- var oot_months months, psi_base_dt = train_end_dt.
{%- set window = calendar_window() %}
with

snapshots as (

    select dt
    from values
        {%- for dt in window.snapshots %}
            ('{{ dt }}'){{ "," if not loop.last }}
        {%- endfor %}
            as declared (dt)

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
