-- One row per user and snapshot month: the last ride and delivery records as ordered arrays
-- (oldest first; truncation rules in macros/event_sequences.sql). Users without records get
-- empty arrays, so the text encoder sees every scored user. Partitioned by dt: scoring a month
-- reads that month's files only.
{{ config(partition_by=['dt']) }}

with

user_months as (

    select * from {{ ref('int_user_months') }}

),

rides as (

    select * from {{ ref('int_user_month_ride_sequences') }}

),

deliveries as (

    select * from {{ ref('int_user_month_delivery_sequences') }}

)

select
    user_months.user_id,
    user_months.dt,
    user_months.is_train,
    coalesce(rides.n_rides, 0) as n_rides,
    coalesce(rides.ride_days_before, cast(array() as array<double>)) as ride_days_before,
    coalesce(rides.ride_origin_text_keys, cast(array() as array<string>)) as ride_origin_text_keys,
    coalesce(rides.ride_place_text_keys, cast(array() as array<string>)) as ride_place_text_keys,
    coalesce(rides.ride_geohashes, cast(array() as array<string>)) as ride_geohashes,
    coalesce(rides.ride_local_hours, cast(array() as array<int>)) as ride_local_hours,
    coalesce(rides.ride_amounts, cast(array() as array<double>)) as ride_amounts,
    coalesce(rides.ride_payment_methods, cast(array() as array<string>)) as ride_payment_methods,
    coalesce(rides.ride_statuses, cast(array() as array<string>)) as ride_statuses,
    coalesce(deliveries.n_deliveries, 0) as n_deliveries,
    coalesce(deliveries.delivery_days_before, cast(array() as array<double>)) as delivery_days_before,
    coalesce(deliveries.delivery_store_text_keys, cast(array() as array<string>)) as delivery_store_text_keys,
    coalesce(deliveries.delivery_item_text_keys, cast(array() as array<array<string>>)) as delivery_item_text_keys,
    coalesce(deliveries.delivery_geohashes, cast(array() as array<string>)) as delivery_geohashes,
    coalesce(deliveries.delivery_local_hours, cast(array() as array<int>)) as delivery_local_hours,
    coalesce(deliveries.delivery_amounts, cast(array() as array<double>)) as delivery_amounts,
    coalesce(deliveries.delivery_payment_methods, cast(array() as array<string>)) as delivery_payment_methods,
    coalesce(deliveries.delivery_statuses, cast(array() as array<string>)) as delivery_statuses
from user_months
left join rides
    on user_months.user_id = rides.user_id and user_months.dt = rides.dt
left join deliveries
    on user_months.user_id = deliveries.user_id and user_months.dt = deliveries.dt
