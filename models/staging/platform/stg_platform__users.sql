with

users as (

    select * from {{ ref('base_platform__users') }}

)

select
    user_id,
    signup_date,
    city,
    device_os,
    app_version,
    referral_channel,
    email_domain,
    phone_carrier
from users
where reject_reason is null
