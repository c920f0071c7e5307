-- The three training targets per user and snapshot month, where the lender observed them.
--   risk_label    1 = the credit taken that month went overdue, 0 = repaid
--   age_bucket    0..3 from var age_bucket_bounds
--   income_label  monthly income clipped at var income_clip_max, users at or below
--                 var income_min left out, log-transformed and scaled to [-1, 1];
--                 preprocessing.income_label_params turns a score back into MXN.
{%- set bounds = var('age_bucket_bounds') %}
with

outcomes as (

    select * from {{ ref('stg_platform__outcomes') }}

),

user_months as (

    select
        user_id,
        dt,
        is_train
    from {{ ref('int_user_months') }}

),

income_params as (

    select * from {{ ref('income_label_params') }}

)

select
    outcomes.user_id,
    outcomes.dt,
    user_months.is_train,
    outcomes.overdue_flag as risk_label,
    outcomes.age,
    case
        when outcomes.age is null then null
        {%- for bound in bounds %}
            when outcomes.age < {{ bound }} then {{ loop.index0 }}
        {%- endfor %}
        else {{ bounds | length }}
    end as age_bucket,
    outcomes.monthly_income as income_mxn,
    outcomes.income_source,
    case
        when outcomes.monthly_income > income_params.income_min then
            2 * (ln(least(outcomes.monthly_income, income_params.income_clip_max)) - income_params.log_min)
            / (income_params.log_max - income_params.log_min) - 1
    end as income_label
from outcomes
inner join user_months
    on outcomes.user_id = user_months.user_id and outcomes.dt = user_months.dt
cross join income_params
