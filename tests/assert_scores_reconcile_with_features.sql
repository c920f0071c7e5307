-- Every user-month of user_month_features in a scored month has exactly one row in each
-- score table, and no score table has a user-month the features do not.
with

features as (

    select user_id, dt from {{ ref('user_month_features') }}
    where dt in (select distinct dt from {{ ref('user_month_scores') }})

),

score_rows as (

    select user_id, dt, 'risk_scores' as score_table from {{ ref('risk_scores') }}
    union all
    select user_id, dt, 'age_scores' as score_table from {{ ref('age_scores') }}
    union all
    select user_id, dt, 'income_scores' as score_table from {{ ref('income_scores') }}

),

counted as (

    select
        features.user_id,
        features.dt,
        tables.score_table,
        count(score_rows.user_id) as n_rows
    from features
    cross join (select 'risk_scores' as score_table union all select 'age_scores' union all select 'income_scores') as tables
    left join score_rows
        on features.user_id = score_rows.user_id
        and features.dt = score_rows.dt
        and tables.score_table = score_rows.score_table
    group by features.user_id, features.dt, tables.score_table

),

orphans as (

    select
        score_rows.user_id,
        score_rows.dt,
        score_rows.score_table,
        -1 as n_rows
    from score_rows
    left anti join features
        on score_rows.user_id = features.user_id and score_rows.dt = features.dt

)

select * from counted where n_rows != 1
union all
select * from orphans
