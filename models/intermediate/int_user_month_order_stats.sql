-- Order counts, spend and frequency per user and snapshot month over each lookback window
-- (var lookback_days). Spend counts completed orders; counts include every order.
{%- set windows = var('lookback_days') %}
with

events as (

    select * from {{ ref('int_order_events') }}

),

calendar as (

    select
        dt,
        snapshot_ts
    from {{ ref('int_snapshot_calendar') }}

),

windowed as (

    select
        events.user_id,
        calendar.dt,
        events.event_type,
        events.order_ts,
        events.amount_mxn,
        events.order_status = 'completed' as is_completed,
        events.order_status = 'cancelled' as is_cancelled,
        events.payment_method = 'cash' as is_cash,
        {{ days_between("calendar.snapshot_ts", "events.order_ts") }} as days_before
    from events
    inner join calendar
        on {{ known_at_snapshot('events', 'calendar') }}

)

select
    user_id,
    dt,
    {%- for days in windows %}
        count_if(event_type = 'ride' and days_before <= {{ days }}) as rides_{{ days }}d,
        count_if(event_type = 'delivery' and days_before <= {{ days }}) as deliveries_{{ days }}d,
        {%- set in_window = "is_completed and days_before <= " ~ days %}
        {%- set ride_amount = "case when event_type = 'ride' and " ~ in_window ~ " then amount_mxn end" %}
        {%- set delivery_amount = "case when event_type = 'delivery' and " ~ in_window ~ " then amount_mxn end" %}
        coalesce({{ exact_sum(ride_amount) }}, 0) as ride_spend_{{ days }}d,
        coalesce({{ exact_sum(delivery_amount) }}, 0) as delivery_spend_{{ days }}d,
        {{ exact_avg(delivery_amount) }} as delivery_avg_amount_{{ days }}d,
        count(distinct case when days_before <= {{ days }} then to_date(order_ts) end) as active_days_{{ days }}d,
    {%- endfor %}
    avg(cast(is_cash as int)) as cash_share_{{ windows | max }}d,
    avg(cast(is_cancelled as int)) as cancelled_share_{{ windows | max }}d,
    {{ exact_stddev("case when event_type = 'delivery' and is_completed then amount_mxn end", 'samp') }}
        as delivery_amount_std_{{ windows | max }}d,
    min(case when event_type = 'ride' then days_before end) as days_since_last_ride,
    min(case when event_type = 'delivery' then days_before end) as days_since_last_delivery
from windowed
group by user_id, dt
