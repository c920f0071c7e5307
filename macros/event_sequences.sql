{#
  event_sequences(event_type, count_column, fields): per user and snapshot month, the last
  var('sequence_length') events of one type strictly before the snapshot, as parallel arrays.

  Truncation: events at or after the snapshot, or landed in the snapshot month or later
  (late arrivals a score at the snapshot could not have seen), are never seen; of the earlier
  ones within the longest lookback window (var('lookback_days')[-1] days), the most recent N
  are kept.
  Order: oldest first, so the last element is the latest event (ties by order_id).
  Padding: none here. Arrays hold 0..N elements and `count_column` says how many; the model
  pads on the left to N at tokenisation time. User-months with no events get no row here and
  empty arrays in the marts, never nulls.

  How: each user's events in the calendar's span are gathered once into one sorted array, and
  each snapshot month filters and slices that array. Joining events to every snapshot month
  first would shuffle and sort each wide text row once per month it is visible in.

  fields: {output_suffix: column expression over int_order_events}; each becomes
  `<event_type>_<suffix>` (an array). `<event_type>_days_before` is always added.
#}
{% macro event_sequences(event_type, count_column, fields) %}
{%- set lookback = var('lookback_days') | max %}
with

events as (

    select * from {{ ref('int_order_events') }}
    where event_type = '{{ event_type }}'

),

calendar as (

    select dt, snapshot_ts from {{ ref('int_snapshot_calendar') }}

),

calendar_span as (

    select
        min(snapshot_ts) - interval {{ lookback }} days as first_ts,
        max(snapshot_ts) as last_ts,
        max(dt) as last_dt
    from calendar

),

user_histories as (

    select
        events.user_id,
        -- struct order sorts by order_ts, then order_id
        array_sort(collect_list(struct(
            events.order_ts,
            events.order_id,
            events.landing_dt,
            {%- for suffix, expr in fields.items() %}
            {{ expr }} as {{ suffix }}{{ "," if not loop.last }}
            {%- endfor %}
        ))) as history
    from events
    cross join calendar_span
    where
        events.order_ts >= calendar_span.first_ts
        and events.order_ts < calendar_span.last_ts
        and events.landing_dt < calendar_span.last_dt
    group by events.user_id

),

known as (

    select
        user_histories.user_id,
        calendar.dt,
        calendar.snapshot_ts,
        filter(user_histories.history, e -> {{ known_at_snapshot('e', 'calendar') }}) as events
    from user_histories
    cross join calendar

),

latest as (

    select
        user_id,
        dt,
        snapshot_ts,
        slice(events, greatest(size(events) - {{ var('sequence_length') }} + 1, 1), {{ var('sequence_length') }})
            as events
    from known
    where size(events) > 0

)

select
    user_id,
    dt,
    size(events) as {{ count_column }},
    transform(events, e -> {{ days_between("snapshot_ts", "e.order_ts") }}) as {{ event_type }}_days_before,
    {%- for suffix in fields %}
    transform(events, e -> e.{{ suffix }}) as {{ event_type }}_{{ suffix }}{{ "," if not loop.last }}
    {%- endfor %}
from latest
{% endmacro %}
