-- One row per user and scored snapshot month: the probability of going overdue and its
-- points (600 at 19:1 good:bad odds, 50 points to double the odds; the scale is stored in
-- the model artifact). Incremental, insert_overwrite by dt (see macro score_months).
{{ config(
    materialized='incremental',
    incremental_strategy='insert_overwrite',
    partition_by=['dt'],
    file_format='parquet',
) }}

with

scores as (

    select * from {{ ref('user_month_scores') }}
    where {{ score_months('dt') }}

)

select
    user_id,
    model_version,
    risk_prob,
    risk_points,
    dt
from scores
