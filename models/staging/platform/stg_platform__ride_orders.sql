with

ride_orders as (

    select * from {{ ref('base_platform__ride_orders') }}

)

select
    order_id,
    user_id,
    order_ts,
    landing_dt,
    pickup_lat,
    pickup_lon,
    dropoff_lat,
    dropoff_lon,
    has_invalid_pickup_coords,
    has_invalid_dropoff_coords,
    pickup_poi_name,
    pickup_poi_key,
    pickup_address,
    dropoff_poi_name,
    dropoff_poi_key,
    dropoff_address,
    fare_mxn,
    has_invalid_fare_mxn,
    distance_km,
    has_invalid_distance_km,
    payment_method,
    has_unknown_payment_method,
    order_status
from ride_orders
where reject_reason is null
