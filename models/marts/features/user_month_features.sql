-- One row per user and snapshot month: the numeric and categorical features the model and
-- the baseline read. Counts are 0 for users without orders; averages and shares stay null
-- (filled with training means from preprocessing.numeric_feature_params). Partitioned by dt:
-- scoring a month reads that month's files only.
{{ config(partition_by=['dt']) }}

{%- set windows = var('lookback_days') %}
{%- set longest = windows | max %}
with

user_months as (

    select * from {{ ref('int_user_months') }}

),

users as (

    select * from {{ ref('stg_platform__users') }}

),

order_stats as (

    select * from {{ ref('int_user_month_order_stats') }}

),

geo_stats as (

    select * from {{ ref('int_user_month_geo_stats') }}

)

select
    user_months.user_id,
    user_months.dt,
    user_months.is_train,
    users.city,
    users.device_os,
    users.referral_channel,
    users.email_domain,
    users.phone_carrier,
    geo_stats.home_geohash,
    geo_stats.work_geohash,
    user_months.tenure_days,
    {%- for days in windows %}
        coalesce(order_stats.rides_{{ days }}d, 0) as rides_{{ days }}d,
        coalesce(order_stats.deliveries_{{ days }}d, 0) as deliveries_{{ days }}d,
        coalesce(order_stats.ride_spend_{{ days }}d, 0) as ride_spend_{{ days }}d,
        coalesce(order_stats.delivery_spend_{{ days }}d, 0) as delivery_spend_{{ days }}d,
        order_stats.delivery_avg_amount_{{ days }}d,
        coalesce(order_stats.active_days_{{ days }}d, 0) as active_days_{{ days }}d,
    {%- endfor %}
    order_stats.cash_share_{{ longest }}d,
    order_stats.cancelled_share_{{ longest }}d,
    order_stats.delivery_amount_std_{{ longest }}d,
    order_stats.days_since_last_ride,
    order_stats.days_since_last_delivery,
    coalesce(geo_stats.n_geo_points, 0) as n_geo_points,
    coalesce(geo_stats.n_distinct_cells, 0) as n_distinct_cells,
    geo_stats.visits_per_cell,
    geo_stats.top_cell_share,
    geo_stats.cell_entropy,
    geo_stats.night_share,
    geo_stats.home_cell_other_users,
    geo_stats.work_cell_other_users,
    cast(geo_stats.home_geohash = geo_stats.work_geohash as int) as home_is_work_cell
from user_months
inner join users
    on user_months.user_id = users.user_id
left join order_stats
    on user_months.user_id = order_stats.user_id and user_months.dt = order_stats.dt
left join geo_stats
    on user_months.user_id = geo_stats.user_id and user_months.dt = geo_stats.dt
