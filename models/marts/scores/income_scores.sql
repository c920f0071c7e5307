-- One row per user and scored snapshot month: predicted monthly income in MXN and the
-- normalised score in [-1, 1] it comes from (preprocessing.income_label_params' transform).
-- Incremental, insert_overwrite by dt.
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
    income_mxn,
    income_norm,
    dt
from scores
