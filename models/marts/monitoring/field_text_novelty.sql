-- One row per snapshot month: field slots, distinct field text keys and keys seen for the
-- first time that month. New keys are what the embedding cache has to encode when the month
-- is scored; their share of slots says how much of a month's text the training corpus never saw.
with

slots as (

    select * from {{ ref('int_field_text_slots') }}

),

field_texts as (

    select * from {{ ref('field_texts') }}

),

by_month as (

    select
        slots.dt,
        slots.is_train,
        count(*) as n_slots,
        count(distinct slots.text_key) as n_distinct_keys,
        count(distinct case when field_texts.first_dt = slots.dt then slots.text_key end) as n_new_keys,
        count_if(field_texts.first_dt = slots.dt) as n_new_key_slots,
        count_if(not field_texts.in_training_window) as n_unseen_in_training_slots
    from slots
    inner join field_texts
        on slots.text_key = field_texts.text_key
    group by slots.dt, slots.is_train

)

select
    dt,
    is_train,
    n_slots,
    n_distinct_keys,
    n_new_keys,
    n_new_key_slots,
    n_unseen_in_training_slots,
    n_new_key_slots / n_slots as new_key_slot_share,
    n_slots / n_distinct_keys as slots_per_distinct_key
from by_month
