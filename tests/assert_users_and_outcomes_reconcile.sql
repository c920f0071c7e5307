-- Users and outcomes are accounted for too: raw rows = staged rows + rejected rows.
with

checks as (

    select
        'users' as source_table,
        (select count(*) from {{ source('platform', 'users') }}) as n_raw,
        (select count(*) from {{ ref('stg_platform__users') }}) as n_staged,
        (
            select count(*) from {{ ref('stg_platform__rejects') }}
            where source_table = 'users'
        ) as n_rejected

    union all

    select
        'outcomes' as source_table,
        (select count(*) from {{ source('platform', 'outcomes') }}) as n_raw,
        (select count(*) from {{ ref('stg_platform__outcomes') }}) as n_staged,
        (
            select count(*) from {{ ref('stg_platform__rejects') }}
            where source_table = 'outcomes'
        ) as n_rejected

)

select * from checks
where n_raw != n_staged + n_rejected
