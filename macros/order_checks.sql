{#
  Row checks shared by the order base models, so rides and deliveries are judged alike.

  order_row_reject_reason(): the first reason a typed order row is unusable, or null.
      Expects `typed` (order_id, user_id, order_ts, landing_dt) joined to `known_users`.
  order_version_ordering(): ranks the rows of one order_id: usable rows first, a final
      status over the `in progress` event, then the latest timestamp and landing month.
      Rank 1 is kept; later ranks are rejected as `duplicate_order_id`.
#}
{% macro order_row_reject_reason() -%}
    case
        when typed.order_id is null then 'missing_order_id'
        when typed.user_id is null then 'missing_user_id'
        when known_users.user_id is null then 'unknown_user_id'
        when typed.order_ts is null then 'missing_order_ts'
        when
            typed.order_ts < timestamp'2000-01-01'
            or typed.order_ts >= add_months(to_date(typed.landing_dt), 2)
            then 'order_ts_out_of_range'
    end
{%- endmacro %}

{% macro order_version_ordering() -%}
    row_reject_reason is not null,
    order_status = 'in progress',
    order_ts desc,
    landing_dt desc
{%- endmacro %}
