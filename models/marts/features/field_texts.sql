-- One row per distinct field text key in the sequences: what the text encoder embeds, each
-- key once per model version, and what the embedding cache is keyed by. The encoder's corpus
-- is the keys seen in a training month (`in_training_window`), so no text first seen out of
-- time reaches the tokenizer, the teacher or the student.
with

slots as (

    select * from {{ ref('int_field_text_slots') }}

),

keys as (

    select
        text_key,
        min(dt) as first_dt,
        max(dt) as last_dt,
        bool_or(is_train) as in_training_window,
        count(*) as n_slots,
        count(distinct user_id) as n_users,
        array_sort(collect_set(field_name)) as field_names
    from slots
    group by text_key

)

select
    text_key,
    first_dt,
    last_dt,
    in_training_window,
    n_slots,
    n_users,
    field_names
from keys
