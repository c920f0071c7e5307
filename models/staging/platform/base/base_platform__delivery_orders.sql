-- Every raw delivery row, typed and cleaned, with the reason it cannot be used (null when it can).
with

source as (

    select * from {{ source('platform', 'delivery_orders') }}

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
        {{ is_valid_coordinate('source.delivery_lat', 'source.delivery_lon') }} as delivery_coords_valid,
        source.delivery_lat,
        source.delivery_lon,
        {{ clean_text('source.store_name') }} as store_name,
        filter(
            transform(source.item_titles, title -> {{ clean_text('title') }}),
            title -> title is not null
        ) as item_titles,
        {{ clean_text('source.delivery_address') }} as delivery_address,
        case when source.amount_mxn >= 0 then source.amount_mxn end as amount_mxn,
        {{ text_key('source.payment_method') }} as payment_method_key,
        {{ text_key('source.status') }} as order_status
    from source

),

row_checked as (

    select
        typed.*,
        {{ key_of_clean_text('typed.store_name') }} as store_key,
        coalesce(payment_synonyms.canonical_value, typed.payment_method_key) as payment_method,
        {{ order_row_reject_reason() }} as row_reject_reason
    from typed
    left join known_users
        on typed.user_id = known_users.user_id
    left join payment_synonyms
        on typed.payment_method_key = payment_synonyms.raw_key

),

versioned as (

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
    store_name,
    store_key,
    item_titles,
    delivery_address,
    amount_mxn,
    payment_method,
    order_status,
    case when delivery_coords_valid then delivery_lat end as delivery_lat,
    case when delivery_coords_valid then delivery_lon end as delivery_lon,
    coalesce(delivery_coords_valid = false, false) as has_invalid_delivery_coords,
    coalesce(row_reject_reason, case when order_version > 1 then 'duplicate_order_id' end) as reject_reason
from versioned
