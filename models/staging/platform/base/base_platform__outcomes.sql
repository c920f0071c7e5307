-- Every raw outcome row, with impossible values nulled and flagged and a reject reason (null when usable).
{{- assert_landing_schema('platform', 'outcomes') }}
with

source as (

    select * from {{ source('platform', 'outcomes') }}

),

users as (

    select * from {{ ref('base_platform__users') }}

),

known_users as (

    {{ known_users_of('users') | indent(4) }}

),

typed as (

    select
        {{ clean_id('source.user_id') }} as user_id,
        source.dt,
        case when source.overdue_flag in (0, 1) then source.overdue_flag end as overdue_flag,
        coalesce(source.overdue_flag not in (0, 1), false) as has_invalid_overdue_flag,
        case when source.age between 16 and 100 then source.age end as age,
        coalesce(not source.age between 16 and 100, false) as has_invalid_age,
        case
            when source.monthly_income > 0 then {{ plausible_amount('source.monthly_income', 'monthly_income') }}
        end as monthly_income,
        coalesce(
            source.monthly_income is not null
            and not (
                source.monthly_income > 0
                and {{ plausible_amount('source.monthly_income', 'monthly_income') }} is not null
            ),
            false
        ) as has_invalid_monthly_income,
        {{ text_key('source.income_source') }} as income_source_key
    from source

),

row_checked as (

    select
        typed.user_id,
        typed.dt,
        typed.overdue_flag,
        typed.has_invalid_overdue_flag,
        typed.age,
        typed.has_invalid_age,
        typed.monthly_income,
        typed.has_invalid_monthly_income,
        -- a source only describes an income that is kept; an unknown source is null and flagged
        case
            when typed.monthly_income is not null and typed.income_source_key in ('declared', 'verified')
                then typed.income_source_key
        end as income_source,
        coalesce(typed.monthly_income is not null and typed.income_source_key not in ('declared', 'verified'), false)
            as has_unknown_income_source,
        case
            when typed.user_id is null then 'missing_user_id'
            when known_users.user_id is null then 'unknown_user_id'
            when not known_users.is_usable then 'rejected_user_id'
            when not {{ in_calendar_window('typed.dt') }} then 'dt_out_of_window'
            when typed.overdue_flag is null and typed.age is null and typed.monthly_income is null
                then 'no_valid_outcome'
        end as row_reject_reason
    from typed
    left join known_users
        on typed.user_id = known_users.user_id

),

versioned as (

    -- usable rows first, then overdue over repaid, then the highest valid income; every value
    -- breaks a remaining tie (rows equal on all of them are the same outcome)
    select
        *,
        row_number() over (
            partition by user_id, dt
            order by
                row_reject_reason is not null,
                overdue_flag desc nulls last,
                monthly_income desc nulls last,
                age desc nulls last,
                income_source asc nulls last
        ) as outcome_version
    from row_checked

)

select
    user_id,
    dt,
    overdue_flag,
    has_invalid_overdue_flag,
    age,
    has_invalid_age,
    monthly_income,
    has_invalid_monthly_income,
    income_source,
    has_unknown_income_source,
    coalesce(row_reject_reason, case when outcome_version > 1 then 'duplicate_user_month' end) as reject_reason
from versioned
