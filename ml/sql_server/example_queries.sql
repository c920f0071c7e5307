-- Three queries a credit analyst runs against the score tables (beeline, DBeaver, PyHive).
-- tests/python/test_sql_server.py runs each of them through the Thrift server.

-- 1. Score distribution by month: volume, mean probability, points deciles, share under 550 points.
select
    dt,
    count(*) as users,
    round(avg(risk_prob), 4) as mean_risk_prob,
    percentile_approx(risk_points, array(0.1, 0.25, 0.5, 0.75, 0.9)) as points_p10_p25_p50_p75_p90,
    round(avg(case when risk_points < 550 then 1.0 else 0.0 end), 4) as share_below_550_points
from scores.risk_scores
group by dt
order by dt;

-- 2. The riskiest decile of the latest month against everyone else: age-bucket mix and income.
with latest as (
    select max(dt) as dt from scores.risk_scores
),

ranked as (
    select
        r.user_id,
        r.dt,
        ntile(10) over (order by r.risk_prob desc, r.user_id) as risk_decile
    from scores.risk_scores as r
    inner join latest on r.dt = latest.dt
)

select
    ranked.risk_decile = 1 as riskiest_decile,
    count(*) as users,
    round(avg(case when a.age_bucket = 0 then 1.0 else 0.0 end), 3) as share_under_25,
    round(avg(case when a.age_bucket = 1 then 1.0 else 0.0 end), 3) as share_25_34,
    round(avg(case when a.age_bucket = 2 then 1.0 else 0.0 end), 3) as share_35_49,
    round(avg(case when a.age_bucket = 3 then 1.0 else 0.0 end), 3) as share_50_plus,
    round(percentile_approx(i.income_mxn, 0.5), 0) as median_income_mxn,
    round(avg(i.income_mxn), 0) as mean_income_mxn
from ranked
inner join scores.age_scores as a on ranked.user_id = a.user_id and ranked.dt = a.dt
inner join scores.income_scores as i on ranked.user_id = i.user_id and ranked.dt = i.dt
group by ranked.risk_decile = 1
order by riskiest_decile desc;

-- 3. One user's score history, month by month, with the activity behind it.
select
    r.dt,
    r.model_version,
    round(r.risk_prob, 4) as risk_prob,
    round(r.risk_points, 1) as risk_points,
    a.age_bucket,
    round(i.income_mxn, 0) as income_mxn,
    f.rides_30d,
    f.deliveries_30d
from scores.risk_scores as r
inner join scores.age_scores as a on r.user_id = a.user_id and r.dt = a.dt
inner join scores.income_scores as i on r.user_id = i.user_id and r.dt = i.dt
inner join features.user_month_features as f on r.user_id = f.user_id and r.dt = f.dt
where r.user_id = 'u00000042'
order by r.dt;
