-- Every user-month of user_month_features in a scored month has exactly one row in each
-- score table, and no score table has a user-month the features do not.
with

scored_months as (

    select distinct dt from {{ ref('user_month_scores') }}

),

features as (

    select
        user_month_features.user_id,
        user_month_features.dt
    from {{ ref('user_month_features') }} as user_month_features
    inner join scored_months
        on user_month_features.dt = scored_months.dt

),

score_rows as (

    select
        user_id,
        dt,
        'risk_scores' as score_table
    from {{ ref('risk_scores') }}
    union all
    select
        user_id,
        dt,
        'age_scores' as score_table
    from {{ ref('age_scores') }}
    union all
    select
        user_id,
        dt,
        'income_scores' as score_table
    from {{ ref('income_scores') }}

),

score_tables as (

    select explode(array('risk_scores', 'age_scores', 'income_scores')) as score_table

),

counted as (

    select
        features.user_id,
        features.dt,
        score_tables.score_table,
        count(score_rows.user_id) as n_rows
    from features
    cross join score_tables
    left join score_rows
        on
            features.user_id = score_rows.user_id
            and features.dt = score_rows.dt
            and score_tables.score_table = score_rows.score_table
    group by features.user_id, features.dt, score_tables.score_table

),

orphans as (

    select
        score_rows.user_id,
        score_rows.dt,
        score_rows.score_table,
        -1 as n_rows
    from score_rows
    left anti join features
        on
            score_rows.user_id = features.user_id
            and score_rows.dt = features.dt

)

select
    user_id,
    dt,
    score_table,
    n_rows
from counted
where n_rows != 1
union all
select
    user_id,
    dt,
    score_table,
    n_rows
from orphans
