-- One row per field slot of the sequences: each ride's pickup and drop-off key, each delivery's
-- store key and each SKU key of its basket, with the user, snapshot month and field it came
-- from. The unit the text encoder embeds is one field value, never a whole record.
{{ config(materialized='view') }}

with

sequences as (

    select * from {{ ref('user_month_sequences') }}

),

ride_origins as (

    select
        user_id,
        dt,
        is_train,
        'ride_origin' as field_name,
        explode(ride_origin_text_keys) as text_key
    from sequences

),

ride_places as (

    select
        user_id,
        dt,
        is_train,
        'ride_place' as field_name,
        explode(ride_place_text_keys) as text_key
    from sequences

),

delivery_stores as (

    select
        user_id,
        dt,
        is_train,
        'delivery_store' as field_name,
        explode(delivery_store_text_keys) as text_key
    from sequences

),

delivery_items as (

    select
        user_id,
        dt,
        is_train,
        'delivery_item' as field_name,
        explode(flatten(delivery_item_text_keys)) as text_key
    from sequences

),

slots as (

    select * from ride_origins
    union all
    select * from ride_places
    union all
    select * from delivery_stores
    union all
    select * from delivery_items

)

select
    user_id,
    dt,
    is_train,
    field_name,
    text_key
from slots
where text_key is not null
