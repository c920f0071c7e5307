{#
  event_sequences(event_type, fields): per user and snapshot month, the last
  var('sequence_length') events of one type strictly before the snapshot, as parallel arrays.

  Truncation: events at or after the snapshot, or landed in the snapshot month or later
  (late arrivals a score at the snapshot could not have seen), are never seen; of the earlier ones within the
  longest lookback window (var('lookback_days')[-1] days), the most recent N are kept.
  Order: oldest first, so the last element is the latest event (ties by order_id).
  Padding: none here. Arrays hold 0..N elements and `count_column` says how many; the model
  pads on the left to N at tokenisation time. User-months with no events get empty arrays
  (in the marts), never nulls.

  fields: {output_suffix: column expression over int_order_events}; each becomes
  `<event_type>_<suffix>` (an array). `<event_type>_days_before` is always added.
#}
{% macro event_sequences(event_type, count_column, fields) %}
with

events as (

    select * from {{ ref('int_order_events') }}
    where event_type = '{{ event_type }}'

),

calendar as (

    select dt, snapshot_ts from {{ ref('int_snapshot_calendar') }}

),

candidates as (

    select
        events.user_id,
        calendar.dt,
        events.order_ts,
        events.order_id,
        {{ days_between("calendar.snapshot_ts", "events.order_ts") }} as days_before,
        {%- for suffix, expr in fields.items() %}
        {{ expr }} as {{ suffix }},
        {%- endfor %}
        row_number() over (
            partition by events.user_id, calendar.dt
            order by events.order_ts desc, events.order_id desc
        ) as recency_rank
    from events
    inner join calendar
        on {{ known_at_snapshot('events', 'calendar') }}

),

collected as (

    select
        user_id,
        dt,
        array_sort(collect_list(struct(
            order_ts, order_id, days_before{% for suffix in fields %}, {{ suffix }}{% endfor %}
        ))) as events
    from candidates
    where recency_rank <= {{ var('sequence_length') }}
    group by user_id, dt

)

select
    user_id,
    dt,
    size(events) as {{ count_column }},
    transform(events, e -> e.days_before) as {{ event_type }}_days_before,
    {%- for suffix in fields %}
    transform(events, e -> e.{{ suffix }}) as {{ event_type }}_{{ suffix }}{{ "," if not loop.last }}
    {%- endfor %}
from collected
{% endmacro %}
