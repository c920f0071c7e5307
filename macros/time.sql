{# days_between(later, earlier): fractional days between two timestamps, as a double. #}
{% macro days_between(later, earlier) -%}
    (unix_micros({{ later }}) - unix_micros({{ earlier }})) / 86400e6
{%- endmacro %}

{#
  known_at_snapshot(event, calendar): join condition for the events a score at the snapshot
  could have used: strictly before the snapshot, within the longest lookback window
  (var lookback_days), and landed before the snapshot month (late arrivals excluded).
#}
{% macro known_at_snapshot(event, calendar) -%}
    {{ event }}.order_ts < {{ calendar }}.snapshot_ts
    and {{ event }}.order_ts >= {{ calendar }}.snapshot_ts - interval {{ var('lookback_days') | max }} days
    and {{ event }}.landing_dt < {{ calendar }}.dt
{%- endmacro %}
