-- Raw rows staging could not use, one per row, with the reason: raw = staged + rejected.
with

ride_orders as (

    select * from {{ ref('base_platform__ride_orders') }}

),

delivery_orders as (

    select * from {{ ref('base_platform__delivery_orders') }}

),

users as (

    select * from {{ ref('base_platform__users') }}

),

outcomes as (

    select * from {{ ref('base_platform__outcomes') }}

),

rejects as (

    select
        'ride_orders' as source_table,
        order_id as record_id,
        user_id,
        landing_dt,
        reject_reason
    from ride_orders
    where reject_reason is not null

    union all

    select
        'delivery_orders' as source_table,
        order_id as record_id,
        user_id,
        landing_dt,
        reject_reason
    from delivery_orders
    where reject_reason is not null

    union all

    select
        'users' as source_table,
        user_id as record_id,
        user_id,
        cast(null as string) as landing_dt,
        reject_reason
    from users
    where reject_reason is not null

    union all

    select
        'outcomes' as source_table,
        user_id as record_id,
        user_id,
        dt as landing_dt,
        reject_reason
    from outcomes
    where reject_reason is not null

)

select
    source_table,
    record_id,
    user_id,
    landing_dt,
    reject_reason
from rejects
