-- How income_label was made, so a predicted label becomes MXN again:
--   income_mxn = exp(log_min + (income_label + 1) / 2 * (log_max - log_min))
select
    cast({{ var('income_min') }} as double) as income_min,
    cast({{ var('income_clip_max') }} as double) as income_clip_max,
    ln({{ var('income_min') }}) as log_min,
    ln({{ var('income_clip_max') }}) as log_max
