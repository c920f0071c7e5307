-- Ordinal codes for categorical features, from training-window rows only. Code 0 is
-- reserved for unknown values (unseen at training, rarer than var categorical_min_count,
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
    select '{{ field }}' as feature_name, {{ field }} as value from features
    union all
    {%- endfor %}
    select 'payment_method' as feature_name, explode(ride_payment_methods) as value from sequences
    union all
    select 'payment_method' as feature_name, explode(delivery_payment_methods) as value from sequences
    union all
    select 'ride_status' as feature_name, explode(ride_statuses) as value from sequences
    union all
    select 'delivery_status' as feature_name, explode(delivery_statuses) as value from sequences

),

counted as (

    select feature_name, value, count(*) as n_rows
    from observed
    where value is not null
    group by feature_name, value
    having count(*) >= {{ var('categorical_min_count') }}

),

encoded as (

    select
        feature_name,
        value,
        n_rows,
        row_number() over (partition by feature_name order by n_rows desc, value) as code
    from counted

),

unknown as (

    select distinct feature_name, cast(null as string) as value, cast(0 as bigint) as n_rows, 0 as code
    from observed

)

select feature_name, value, n_rows, code, false as is_unknown from encoded
union all
select feature_name, value, n_rows, code, true as is_unknown from unknown
