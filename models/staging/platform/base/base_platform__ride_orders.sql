-- Every raw ride row, typed and cleaned, with the reason it cannot be used (null when it can).
-- stg_platform__ride_orders keeps the usable rows; stg_platform__rejects keeps the others.
{{- assert_landing_schema('platform', 'ride_orders') }}
{%- set statuses = ['completed', 'cancelled', 'no show', 'in progress'] %}
{%- set payment_methods = "'cash', 'debit_card', 'credit_card', 'wallet'" %}
with

source as (

    select * from {{ source('platform', 'ride_orders') }}

),

users as (

    select * from {{ ref('base_platform__users') }}

),

payment_synonyms as (

    select
        raw_key,
        canonical_value
    from {{ ref('categorical_synonyms') }}
    where field = 'payment_method'

),

known_users as (

    {{ known_users_of('users') | indent(4) }}

),

typed as (

    select
        {{ clean_id('source.order_id') }} as order_id,
        {{ clean_id('source.user_id') }} as user_id,
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
        {{ plausible_amount('source.fare_mxn', 'fare_mxn') }} as fare_mxn,
        {{ is_implausible_amount('source.fare_mxn', 'fare_mxn') }} as has_invalid_fare_mxn,
        {{ plausible_amount('source.distance_km', 'distance_km') }} as distance_km,
        {{ is_implausible_amount('source.distance_km', 'distance_km') }} as has_invalid_distance_km,
        {{ text_key('source.payment_method') }} as payment_method_key,
        {{ text_key('source.status') }} as order_status,
        {{ has_invalid_utf8([
            'source.order_id', 'source.user_id', 'source.pickup_poi_name', 'source.pickup_address',
            'source.dropoff_poi_name', 'source.dropoff_address', 'source.payment_method', 'source.status'
        ]) }} as has_invalid_utf8
    from source

),

row_checked as (

    select
        typed.*,
        {{ key_of_clean_text('typed.pickup_poi_name') }} as pickup_poi_key,
        {{ key_of_clean_text('typed.dropoff_poi_name') }} as dropoff_poi_key,
        coalesce(payment_synonyms.canonical_value, typed.payment_method_key) as payment_method_value,
        {{ order_row_reject_reason(statuses) }} as row_reject_reason
    from typed
    left join known_users
        on typed.user_id = known_users.user_id
    left join payment_synonyms
        on typed.payment_method_key = payment_synonyms.raw_key

),

categorized as (

    -- a payment method outside the known set is unknown (null, flagged), never a new category
    select
        *,
        case
            when payment_method_value in ({{ payment_methods }}) then payment_method_value
        end as payment_method,
        coalesce(payment_method_value not in ({{ payment_methods }}), false)
            as has_unknown_payment_method
    from row_checked

),

versioned as (

    -- One version per order: usable rows first, then final over in-progress status, then latest,
    -- then the content itself, so the file order of two rows never decides.
    select
        *,
        row_number() over (
            partition by order_id
            order by {{ order_version_ordering([
                'user_id', 'fare_mxn', 'distance_km', 'payment_method', 'order_status',
                'pickup_poi_name', 'pickup_address', 'dropoff_poi_name', 'dropoff_address',
                'pickup_lat', 'pickup_lon', 'dropoff_lat', 'dropoff_lon'
            ]) }}
        ) as order_version
    from categorized

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
    has_invalid_fare_mxn,
    distance_km,
    has_invalid_distance_km,
    payment_method,
    has_unknown_payment_method,
    order_status,
    case when pickup_coords_valid then pickup_lat end as pickup_lat,
    case when pickup_coords_valid then pickup_lon end as pickup_lon,
    case when dropoff_coords_valid then dropoff_lat end as dropoff_lat,
    case when dropoff_coords_valid then dropoff_lon end as dropoff_lon,
    coalesce(pickup_coords_valid = false, false) as has_invalid_pickup_coords,
    coalesce(dropoff_coords_valid = false, false) as has_invalid_dropoff_coords,
    coalesce(row_reject_reason, case when order_version > 1 then 'duplicate_order_id' end) as reject_reason
from versioned
