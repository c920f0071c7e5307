-- Rides and deliveries as one event stream in the user's local time (seed city_timezones,
-- else var local_timezone), with the place each event happened at and its geohash cells:
-- the input of sequences and statistics.
with

ride_orders as (

    select * from {{ ref('stg_platform__ride_orders') }}

),

delivery_orders as (

    select * from {{ ref('stg_platform__delivery_orders') }}

),

events as (

    select
        user_id,
        order_id,
        'ride' as event_type,
        order_ts,
        landing_dt,
        dropoff_lat as event_lat,
        dropoff_lon as event_lon,
        pickup_lat,
        pickup_lon,
        {{ key_of_clean_text('coalesce(dropoff_poi_name, dropoff_address)') }} as place_text_key,
        {{ key_of_clean_text('coalesce(pickup_poi_name, pickup_address)') }} as origin_text_key,
        cast(null as array<string>) as item_text_keys,
        fare_mxn as amount_mxn,
        distance_km,
        payment_method,
        order_status
    from ride_orders

    union all

    select
        user_id,
        order_id,
        'delivery' as event_type,
        order_ts,
        landing_dt,
        delivery_lat as event_lat,
        delivery_lon as event_lon,
        cast(null as double) as pickup_lat,
        cast(null as double) as pickup_lon,
        store_key as place_text_key,
        cast(null as string) as origin_text_key,
        -- one key per SKU title, never a joined string: a title may contain any separator
        slice(
            filter(
                transform(coalesce(item_titles, array()), title -> {{ key_of_clean_text('title') }}),
                k -> k is not null
            ),
            1, {{ var('max_basket_items') }}
        ) as item_text_keys,
        amount_mxn,
        cast(null as double) as distance_km,
        payment_method,
        order_status
    from delivery_orders

),

users as (

    select
        user_id,
        city
    from {{ ref('stg_platform__users') }}

),

city_timezones as (

    select
        city,
        timezone
    from {{ ref('city_timezones') }}

),

localized as (

    select
        events.*,
        from_utc_timestamp(
            events.order_ts, coalesce(city_timezones.timezone, '{{ var("local_timezone") }}')
        ) as local_ts
    from events
    left join users
        on events.user_id = users.user_id
    left join city_timezones
        on users.city = city_timezones.city

)

select
    user_id,
    order_id,
    event_type,
    order_ts,
    landing_dt,
    hour(local_ts) as local_hour,
    dayofweek(local_ts) as local_day_of_week,
    {%- set night = var('night_hours') %}
    hour(local_ts) >= {{ night[0] }} or hour(local_ts) < {{ night[1] }} as is_night,
    {%- set work = var('work_hours') %}
    dayofweek(local_ts) between 2 and 6
    and hour(local_ts) >= {{ work[0] }} and hour(local_ts) < {{ work[1] }} as is_work_time,
    event_lat,
    event_lon,
    {{ geohash('event_lat', 'event_lon', var('geohash_precision_coarse')) }} as event_geohash_coarse,
    {{ geohash('event_lat', 'event_lon', var('geohash_precision_fine')) }} as event_geohash_fine,
    {{ geohash('pickup_lat', 'pickup_lon', var('geohash_precision_fine')) }} as pickup_geohash_fine,
    place_text_key,
    origin_text_key,
    item_text_keys,
    amount_mxn,
    distance_km,
    payment_method,
    order_status
from localized
