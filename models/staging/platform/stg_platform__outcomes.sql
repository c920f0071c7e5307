with

outcomes as (

    select * from {{ ref('base_platform__outcomes') }}

)

select
    user_id,
    dt,
    overdue_flag,
    age,
    monthly_income,
    income_source
from outcomes
where reject_reason is null
