-- Every raw outcome row, with impossible values nulled and a reject reason (null when usable).
with

source as (

    select * from {{ source('platform', 'outcomes') }}

),

known_users as (

    select distinct user_id from {{ source('platform', 'users') }}

),

typed as (

    select
        nullif(trim(source.user_id), '') as user_id,
        source.dt,
        case when source.overdue_flag in (0, 1) then source.overdue_flag end as overdue_flag,
        case when source.age between 16 and 100 then source.age end as age,
        case when source.monthly_income > 0 then source.monthly_income end as monthly_income,
        {{ text_key('source.income_source') }} as income_source,
        known_users.user_id is not null as is_known_user
    from source
    left join known_users
        on source.user_id = known_users.user_id

),

versioned as (

    select
        *,
        row_number() over (partition by user_id, dt order by overdue_flag desc, monthly_income desc) as outcome_version
    from typed

)

select
    user_id,
    dt,
    overdue_flag,
    age,
    monthly_income,
    income_source,
    case
        when user_id is null then 'missing_user_id'
        when not is_known_user then 'unknown_user_id'
        when outcome_version > 1 then 'duplicate_user_month'
    end as reject_reason
from versioned
