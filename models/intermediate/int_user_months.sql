-- The scoring spine: every staged user who had signed up before a snapshot month, with or
-- without orders, so users without history still get a score.
with

users as (

    select * from {{ ref('stg_platform__users') }}

),

calendar as (

    select * from {{ ref('int_snapshot_calendar') }}

)

select
    users.user_id,
    calendar.dt,
    calendar.snapshot_ts,
    calendar.is_train,
    datediff(to_date(calendar.dt), users.signup_date) as tenure_days
from users
inner join calendar
    on users.signup_date < to_date(calendar.dt)
