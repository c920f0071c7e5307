-- Every raw ride row, typed and cleaned, with the reason it cannot be used (null when it can).
-- stg_platform__ride_orders keeps the usable rows; stg_platform__rejects keeps the others.
with

source as (

    select * from {{ source('platform', 'ride_orders') }}

),

known_users as (

    select distinct user_id from {{ source('platform', 'users') }}

),

payment_synonyms as (

    select
        raw_key,
        canonical_value
    from {{ ref('categorical_synonyms') }}
    where field = 'payment_method'

),

typed as (

    select
        nullif(trim(source.order_id), '') as order_id,
        nullif(trim(source.user_id), '') as user_id,
        cast(source.order_ts as timestamp) as order_ts,
        source.dt as landing_dt,
        {{ is_valid_coordinate('source.pickup_lat', 'source.pickup_lon') }} as pickup_coords_valid,
        {{ is_valid_coordinate('source.dropoff_lat', 'source.dropoff_lon') }} as dropoff_coords_valid,
        source.pickup_lat,
        source.pickup_lon,
        source.dropoff_lat,
        source.dropoff_lon,
        {{ clean_text('source.pickup_poi_name') }} as pickup_poi_name,
        {{ clean_text('source.pickup_address') }} as pickup_address,
        {{ clean_text('source.dropoff_poi_name') }} as dropoff_poi_name,
        {{ clean_text('source.dropoff_address') }} as dropoff_address,
        case when source.fare_mxn >= 0 then source.fare_mxn end as fare_mxn,
        case when source.distance_km >= 0 then source.distance_km end as distance_km,
        {{ text_key('source.payment_method') }} as payment_method_key,
        {{ text_key('source.status') }} as order_status
    from source

),

row_checked as (

    select
        typed.*,
        {{ key_of_clean_text('typed.pickup_poi_name') }} as pickup_poi_key,
        {{ key_of_clean_text('typed.dropoff_poi_name') }} as dropoff_poi_key,
        coalesce(payment_synonyms.canonical_value, typed.payment_method_key) as payment_method,
        {{ order_row_reject_reason() }} as row_reject_reason
    from typed
    left join known_users
        on typed.user_id = known_users.user_id
    left join payment_synonyms
        on typed.payment_method_key = payment_synonyms.raw_key

),

versioned as (

    -- One version per order: usable rows first, then final over in-progress status, then latest.
    select
        *,
        row_number() over (
            partition by order_id
            order by {{ order_version_ordering() }}
        ) as order_version
    from row_checked

)

select
    order_id,
    user_id,
    order_ts,
    landing_dt,
    pickup_poi_name,
    pickup_poi_key,
    pickup_address,
    dropoff_poi_name,
    dropoff_poi_key,
    dropoff_address,
    fare_mxn,
    distance_km,
    payment_method,
    order_status,
    case when pickup_coords_valid then pickup_lat end as pickup_lat,
    case when pickup_coords_valid then pickup_lon end as pickup_lon,
    case when dropoff_coords_valid then dropoff_lat end as dropoff_lat,
    case when dropoff_coords_valid then dropoff_lon end as dropoff_lon,
    coalesce(pickup_coords_valid = false, false) as has_invalid_pickup_coords,
    coalesce(dropoff_coords_valid = false, false) as has_invalid_dropoff_coords,
    coalesce(row_reject_reason, case when order_version > 1 then 'duplicate_order_id' end) as reject_reason
from versioned
