-- Which numeric features the model may use: those whose PSI stayed at or below
-- var psi_selection_threshold in every training-window month and that still vary after the
-- p10/p90 clip. Drift seen only after the training window is reported (max_psi_all) but does
-- not change the selection.
with

feature_psi as (

    select * from {{ ref('feature_psi') }}

),

numeric_feature_params as (

    select * from {{ ref('numeric_feature_params') }}

),

psi_summary as (

    select
        feature_name,
        max(case when is_train then psi end) as max_psi_train,
        max(psi) as max_psi_all,
        max_by(dt, psi) as worst_dt,
        count_if(psi_band = 'unstable') as n_unstable_months
    from feature_psi
    group by feature_name

),

summary as (

    select
        psi_summary.feature_name,
        psi_summary.max_psi_train,
        psi_summary.max_psi_all,
        psi_summary.worst_dt,
        psi_summary.n_unstable_months,
        -- a feature whose p10 equals its p90 is one value after clipping: no signal left
        coalesce(numeric_feature_params.clip_low = numeric_feature_params.clip_high, true)
            as is_constant_after_clip
    from psi_summary
    left join numeric_feature_params
        on psi_summary.feature_name = numeric_feature_params.feature_name

),

reasoned as (

    select
        *,
        case
            when max_psi_train is null then 'no_training_psi'
            when max_psi_train > {{ var('psi_selection_threshold') }} then 'unstable_in_training'
            when is_constant_after_clip then 'constant_after_clip'
        end as drop_reason
    from summary

)

select
    feature_name,
    max_psi_train,
    max_psi_all,
    worst_dt,
    n_unstable_months,
    {{ psi_band('max_psi_all') }} as worst_psi_band,
    is_constant_after_clip,
    drop_reason,
    drop_reason is null as is_selected
from reasoned
