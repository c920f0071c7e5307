-- Where each user goes, from geohash cells alone (var geohash_precision_fine) over the longest
-- lookback window: concentration, entropy, night activity, inferred home and work cells, and
-- how many other users share them.
with

events as (

    select * from {{ ref('int_order_events') }}

),

calendar as (

    select
        dt,
        snapshot_ts
    from {{ ref('int_snapshot_calendar') }}

),

points as (

    -- Every place an order touched: ride drop-offs and deliveries, plus ride pickups.
    select
        user_id,
        order_ts,
        landing_dt,
        event_geohash_fine as cell,
        is_night,
        is_work_time
    from events
    where event_geohash_fine is not null

    union all

    select
        user_id,
        order_ts,
        landing_dt,
        pickup_geohash_fine as cell,
        is_night,
        is_work_time
    from events
    where pickup_geohash_fine is not null

),

cell_visits as (

    select
        points.user_id,
        calendar.dt,
        points.cell,
        count(*) as n_visits,
        count_if(points.is_night) as n_night_visits,
        count_if(points.is_work_time) as n_work_visits
    from points
    inner join calendar
        on {{ known_at_snapshot('points', 'calendar') }}
    group by points.user_id, calendar.dt, points.cell

),

ranked as (

    select
        *,
        n_visits / sum(n_visits) over (partition by user_id, dt) as visit_share,
        row_number() over (
            partition by user_id, dt order by n_night_visits desc, n_visits desc, cell asc
        ) as home_rank,
        row_number() over (
            partition by user_id, dt order by n_work_visits desc, n_visits desc, cell asc
        ) as work_rank
    from cell_visits

),

per_user as (

    select
        user_id,
        dt,
        sum(n_visits) as n_geo_points,
        count(*) as n_distinct_cells,
        max(visit_share) as top_cell_share,
        -{{ exact_sum('visit_share * ln(visit_share)') }} as cell_entropy,
        sum(n_night_visits) / sum(n_visits) as night_share,
        max(case when home_rank = 1 and n_night_visits > 0 then cell end) as home_geohash,
        max(case when work_rank = 1 and n_work_visits > 0 then cell end) as work_geohash
    from ranked
    group by user_id, dt

),

home_cells as (

    select
        dt,
        home_geohash,
        count(*) as n_users
    from per_user
    where home_geohash is not null
    group by dt, home_geohash

),

work_cells as (

    select
        dt,
        work_geohash,
        count(*) as n_users
    from per_user
    where work_geohash is not null
    group by dt, work_geohash

)

select
    per_user.user_id,
    per_user.dt,
    per_user.n_geo_points,
    per_user.n_distinct_cells,
    per_user.top_cell_share,
    per_user.cell_entropy,
    per_user.night_share,
    per_user.home_geohash,
    per_user.work_geohash,
    per_user.n_geo_points / per_user.n_distinct_cells as visits_per_cell,
    home_cells.n_users - 1 as home_cell_other_users,
    work_cells.n_users - 1 as work_cell_other_users
from per_user
left join home_cells
    on per_user.dt = home_cells.dt and per_user.home_geohash = home_cells.home_geohash
left join work_cells
    on per_user.dt = work_cells.dt and per_user.work_geohash = work_cells.work_geohash
