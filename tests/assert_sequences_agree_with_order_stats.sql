-- The sequences hold the newest records: their count is the 180-day count capped at the
-- sequence length, and their last element is the most recent record.
with

sequences as (

    select * from {{ ref('user_month_sequences') }}

),

features as (

    select * from {{ ref('user_month_features') }}

)

select
    sequences.user_id,
    sequences.dt,
    sequences.n_rides,
    features.rides_180d,
    sequences.n_deliveries,
    features.deliveries_180d
from sequences
inner join features
    on sequences.user_id = features.user_id and sequences.dt = features.dt
where
    sequences.n_rides != least(features.rides_180d, {{ var('sequence_length') }})
    or sequences.n_deliveries != least(features.deliveries_180d, {{ var('sequence_length') }})
    or (sequences.n_rides > 0 and element_at(sequences.ride_days_before, -1) != features.days_since_last_ride)
    or (
        sequences.n_deliveries > 0
        and element_at(sequences.delivery_days_before, -1) != features.days_since_last_delivery
    )
