-- Every raw delivery row, typed and cleaned, with the reason it cannot be used (null when it can).
{{- assert_landing_schema('platform', 'delivery_orders') }}
{%- set statuses = ['completed', 'cancelled', 'refunded', 'in progress'] %}
{%- set payment_methods = "'cash', 'debit_card', 'credit_card', 'wallet'" %}
with

source as (

    select * from {{ source('platform', 'delivery_orders') }}

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
        {{ is_valid_coordinate('source.delivery_lat', 'source.delivery_lon') }} as delivery_coords_valid,
        source.delivery_lat,
        source.delivery_lon,
        {{ clean_text('source.store_name') }} as store_name,
        filter(
            transform(source.item_titles, title -> {{ clean_text('title') }}),
            title -> title is not null
        ) as item_titles,
        {{ clean_text('source.delivery_address') }} as delivery_address,
        {{ plausible_amount('source.amount_mxn', 'amount_mxn') }} as amount_mxn,
        {{ is_implausible_amount('source.amount_mxn', 'amount_mxn') }} as has_invalid_amount_mxn,
        {{ text_key('source.payment_method') }} as payment_method_key,
        {{ text_key('source.status') }} as order_status,
        {{ has_invalid_utf8(
            ['source.order_id', 'source.user_id', 'source.store_name', 'source.delivery_address',
             'source.payment_method', 'source.status'],
            ['source.item_titles']
        ) }} as has_invalid_utf8
    from source

),

row_checked as (

    select
        typed.*,
        {{ key_of_clean_text('typed.store_name') }} as store_key,
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

    -- as base_platform__ride_orders: the content breaks the last ties, never the file order
    select
        *,
        row_number() over (
            partition by order_id
            order by {{ order_version_ordering([
                'user_id', 'amount_mxn', 'payment_method', 'order_status', 'store_name',
                'delivery_address', 'item_titles', 'delivery_lat', 'delivery_lon'
            ]) }}
        ) as order_version
    from categorized

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
    has_invalid_amount_mxn,
    payment_method,
    has_unknown_payment_method,
    order_status,
    case when delivery_coords_valid then delivery_lat end as delivery_lat,
    case when delivery_coords_valid then delivery_lon end as delivery_lon,
    coalesce(delivery_coords_valid = false, false) as has_invalid_delivery_coords,
    coalesce(row_reject_reason, case when order_version > 1 then 'duplicate_order_id' end) as reject_reason
from versioned
