-- One row per user and scored snapshot month: the most likely age bucket (0: < 25, 1: 25-34,
-- 2: 35-49, 3: 50+) and the four bucket probabilities. Incremental, insert_overwrite by dt.
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
    age_bucket,
    age_prob_0,
    age_prob_1,
    age_prob_2,
    age_prob_3,
    dt
from scores
