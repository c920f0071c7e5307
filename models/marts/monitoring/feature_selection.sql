-- Which numeric features the model may use: those whose PSI stayed at or below
-- var psi_selection_threshold in every training-window month. Drift seen only after the
-- training window is reported (max_psi_all) but does not change the selection.
with

feature_psi as (

    select * from {{ ref('feature_psi') }}

),

summary as (

    select
        feature_name,
        max(case when is_train then psi end) as max_psi_train,
        max(psi) as max_psi_all,
        max_by(dt, psi) as worst_dt,
        count_if(psi_band = 'unstable') as n_unstable_months
    from feature_psi
    group by feature_name

)

select
    feature_name,
    max_psi_train,
    max_psi_all,
    worst_dt,
    n_unstable_months,
    {{ psi_band('max_psi_all') }} as worst_psi_band,
    coalesce(max_psi_train <= {{ var('psi_selection_threshold') }}, false) as is_selected
from summary
