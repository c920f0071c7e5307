with

delivery_orders as (

    select * from {{ ref('base_platform__delivery_orders') }}

)

select
    order_id,
    user_id,
    order_ts,
    landing_dt,
    delivery_lat,
    delivery_lon,
    has_invalid_delivery_coords,
    store_name,
    store_key,
    item_titles,
    delivery_address,
    amount_mxn,
    has_invalid_amount_mxn,
    payment_method,
    has_unknown_payment_method,
    order_status
from delivery_orders
where reject_reason is null
