-- Nothing is lost: for every raw table and landing month, raw rows = staged rows + rejected rows.
-- Returns the (table, month) pairs that do not add up.
with

raw_counts as (

    select
        'ride_orders' as source_table,
        dt as landing_dt,
        count(*) as n_raw
    from {{ source('platform', 'ride_orders') }}
    group by dt

    union all

    select
        'delivery_orders' as source_table,
        dt as landing_dt,
        count(*) as n_raw
    from {{ source('platform', 'delivery_orders') }}
    group by dt

),

staged_counts as (

    select
        'ride_orders' as source_table,
        landing_dt,
        count(*) as n_staged
    from {{ ref('stg_platform__ride_orders') }}
    group by landing_dt

    union all

    select
        'delivery_orders' as source_table,
        landing_dt,
        count(*) as n_staged
    from {{ ref('stg_platform__delivery_orders') }}
    group by landing_dt

),

reject_counts as (

    select
        source_table,
        landing_dt,
        count(*) as n_rejected
    from {{ ref('stg_platform__rejects') }}
    where source_table in ('ride_orders', 'delivery_orders')
    group by source_table, landing_dt

)

select
    raw_counts.source_table,
    raw_counts.landing_dt,
    raw_counts.n_raw,
    coalesce(staged_counts.n_staged, 0) as n_staged,
    coalesce(reject_counts.n_rejected, 0) as n_rejected
from raw_counts
left join staged_counts
    on raw_counts.source_table = staged_counts.source_table
        and raw_counts.landing_dt = staged_counts.landing_dt
left join reject_counts
    on raw_counts.source_table = reject_counts.source_table
        and raw_counts.landing_dt = reject_counts.landing_dt
where raw_counts.n_raw != coalesce(staged_counts.n_staged, 0) + coalesce(reject_counts.n_rejected, 0)
