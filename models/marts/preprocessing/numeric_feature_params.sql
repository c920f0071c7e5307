-- Missing-value fill and clip bounds per numeric feature, from training-window rows only,
-- so training and scoring preprocess identically:
--     x = clip(coalesce(x, fill_value), clip_low, clip_high)
{%- set features = ref('user_month_features') %}
{%- set columns = numeric_feature_columns(features, exclude=['is_train']) %}
with

feature_values as (

    {{ unpivot_features(features, columns, ['dt', 'is_train']) | indent(4) }}

),

training_values as (

    select
        feature_name,
        value
    from feature_values
    where is_train

)

select
    feature_name,
    count(*) as n_rows,
    count(value) as n_non_null,
    coalesce({{ exact_avg('value') }}, 0) as fill_value,
    percentile(value, 0.1) as clip_low,
    percentile(value, 0.9) as clip_high,
    {{ exact_stddev('value', 'pop') }} as std_value
from training_values
group by feature_name
