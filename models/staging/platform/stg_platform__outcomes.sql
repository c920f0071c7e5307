with

outcomes as (

    select * from {{ ref('base_platform__outcomes') }}

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
    has_unknown_income_source
from outcomes
where reject_reason is null
