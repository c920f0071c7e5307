{#
  Row checks shared by the order base models, so rides and deliveries are judged alike.
  order_row_reject_reason(statuses): the first reason a typed order row is unusable, or null.
      Expects `typed` (order_id, user_id, order_ts, landing_dt, order_status, has_invalid_utf8)
      joined to `known_users` (user_id, signup_date, is_usable: from base_platform__users, so
      ids are compared trimmed on both sides). `statuses`: the order statuses this table knows.
  order_version_ordering(tiebreak_columns): ranks the rows of one order_id: usable rows first,
      a final status over the `in progress` event, then the latest timestamp and landing month,
      then `tiebreak_columns` ascending (nulls last), so two rows that tie on everything before
      are ordered by their content, never by their position in a file. Rows equal on every
      tiebreak column are the same order version, so whichever is rank 1 gives the same output.
      Rank 1 is kept; later ranks are rejected as `duplicate_order_id`.
#}

{% macro order_row_reject_reason(statuses) -%}
    case
        when typed.order_id is null then 'missing_order_id'
        when typed.user_id is null then 'missing_user_id'
        when known_users.user_id is null then 'unknown_user_id'
        when not known_users.is_usable then 'rejected_user_id'
        when not {{ in_calendar_window('typed.landing_dt') }} then 'landing_dt_out_of_window'
        when typed.order_ts is null then 'missing_order_ts'
        when
            typed.order_ts < timestamp'2000-01-01'
            or typed.order_ts >= add_months(to_date(typed.landing_dt), 2)
            then 'order_ts_out_of_range'
        when typed.order_ts < cast(known_users.signup_date as timestamp) then 'order_before_signup'
        when typed.order_status is null then 'missing_order_status'
        when typed.order_status not in ('{{ statuses | join("', '") }}') then 'unknown_order_status'
        when typed.has_invalid_utf8 then 'invalid_utf8_text'
    end
{%- endmacro %}

{% macro order_version_ordering(tiebreak_columns=[]) -%}
    row_reject_reason is not null,
    order_status = 'in progress',
    order_ts desc,
    landing_dt desc
    {%- for column in tiebreak_columns %},
    {{ column }} asc nulls last
    {%- endfor %}
{%- endmacro %}

{#
  known_users_of(users_relation): one row per trimmed user id of base_platform__users, with the
  signup date of its usable row and whether it has one (false when every row of the id was
  rejected, e.g. `signup_date_out_of_range`).
#}
{% macro known_users_of(users_relation) -%}
    select
        user_id,
        max(case when reject_reason is null then signup_date end) as signup_date,
        bool_or(reject_reason is null) as is_usable
    from {{ users_relation }}
    where user_id is not null
    group by user_id
{%- endmacro %}
