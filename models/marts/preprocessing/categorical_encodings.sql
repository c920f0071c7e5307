-- Ordinal codes for categorical features, from training-window rows only. Code 0 is
-- reserved for unknown values (unseen at training, used by fewer than var categorical_min_count users,
-- or null); known values get 1.. by descending frequency, ties by value.
{%- set user_fields = ['city', 'device_os', 'referral_channel', 'email_domain', 'phone_carrier'] %}
with

features as (

    select * from {{ ref('user_month_features') }}
    where is_train

),

sequences as (

    select * from {{ ref('user_month_sequences') }}
    where is_train

),

observed as (

    {%- for field in user_fields %}
        select
            user_id,
            '{{ field }}' as feature_name,
            {{ field }} as category_value
        from features
        union all
    {%- endfor %}
    select
        user_id,
        'payment_method' as feature_name,
        explode(ride_payment_methods) as category_value
    from sequences
    union all
    select
        user_id,
        'payment_method' as feature_name,
        explode(delivery_payment_methods) as category_value
    from sequences
    union all
    select
        user_id,
        'ride_status' as feature_name,
        explode(ride_statuses) as category_value
    from sequences
    union all
    select
        user_id,
        'delivery_status' as feature_name,
        explode(delivery_statuses) as category_value
    from sequences

),

counted as (

    select
        feature_name,
        category_value,
        count(*) as n_rows,
        count(distinct user_id) as n_users
    from observed
    where category_value is not null
    group by feature_name, category_value
    having count(distinct user_id) >= {{ var('categorical_min_count') }}

),

encoded as (

    select
        feature_name,
        category_value,
        n_rows,
        n_users,
        row_number() over (partition by feature_name order by n_rows desc, category_value asc) as code
    from counted

),

unknown_codes as (

    select distinct
        feature_name,
        cast(null as string) as category_value,
        cast(0 as bigint) as n_rows,
        cast(0 as bigint) as n_users,
        0 as code
    from observed

)

select
    feature_name,
    category_value,
    n_rows,
    n_users,
    code,
    false as is_unknown
from encoded
union all
select
    feature_name,
    category_value,
    n_rows,
    n_users,
    code,
    true as is_unknown
from unknown_codes
