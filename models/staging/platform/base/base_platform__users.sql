-- Every raw user row, categoricals mapped to canonical values, with a reject reason (null when usable).
{{- assert_landing_schema('platform', 'users') }}
{%- set window = calendar_window() %}
with

source as (

    select * from {{ source('platform', 'users') }}

),

synonyms as (

    select
        field,
        raw_key,
        canonical_value
    from {{ ref('categorical_synonyms') }}

),

cleaned as (

    select
        signup_date,
        {{ clean_id('user_id') }} as user_id,
        {{ clean_text('city') }} as city_text,
        {{ text_key('city') }} as city_key,
        {{ text_key('device_os') }} as device_os_key,
        {{ clean_text('app_version') }} as app_version,
        {{ text_key('referral_channel') }} as referral_channel,
        lower({{ clean_text('email_domain') }}) as email_domain_text,
        {{ text_key('email_domain') }} as email_domain_key,
        {{ text_key('phone_carrier') }} as phone_carrier,
        {{ has_invalid_utf8([
            'user_id', 'city', 'device_os', 'app_version', 'referral_channel', 'email_domain', 'phone_carrier'
        ]) }} as has_invalid_utf8
    from source

),

typed as (

    select
        cleaned.user_id,
        cleaned.signup_date,
        cleaned.app_version,
        cleaned.referral_channel,
        cleaned.phone_carrier,
        coalesce(city.canonical_value, cleaned.city_text) as city,
        coalesce(device_os.canonical_value, cleaned.device_os_key) as device_os,
        coalesce(email_domain.canonical_value, cleaned.email_domain_text) as email_domain,
        case
            when cleaned.user_id is null then 'missing_user_id'
            when
                cleaned.signup_date < date'{{ var("signup_date_min") }}'
                or cleaned.signup_date >= add_months(date'{{ window.end }}', 1)
                then 'signup_date_out_of_range'
            when cleaned.has_invalid_utf8 then 'invalid_utf8_text'
        end as row_reject_reason
    from cleaned
    left join synonyms as city
        on city.field = 'city' and cleaned.city_key = city.raw_key
    left join synonyms as device_os
        on device_os.field = 'device_os' and cleaned.device_os_key = device_os.raw_key
    left join synonyms as email_domain
        on email_domain.field = 'email_domain' and cleaned.email_domain_key = email_domain.raw_key

),

versioned as (

    -- usable rows first, then the earliest signup; every column breaks a remaining tie
    select
        *,
        row_number() over (
            partition by user_id
            order by
                row_reject_reason is not null,
                signup_date asc nulls last,
                city asc nulls first,
                device_os asc nulls first,
                app_version asc nulls first,
                referral_channel asc nulls first,
                email_domain asc nulls first,
                phone_carrier asc nulls first
        ) as user_version
    from typed

)

select
    user_id,
    signup_date,
    city,
    device_os,
    app_version,
    referral_channel,
    email_domain,
    phone_carrier,
    coalesce(row_reject_reason, case when user_version > 1 then 'duplicate_user_id' end) as reject_reason
from versioned
