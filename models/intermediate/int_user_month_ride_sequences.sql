-- The last rides before each snapshot (see macros/event_sequences.sql for truncation rules).
{{ event_sequences('ride', 'n_rides', {
    'origin_text_keys': 'events.origin_text_key',
    'place_text_keys': 'events.place_text_key',
    'geohashes': 'events.event_geohash_fine',
    'local_hours': 'events.local_hour',
    'amounts': 'events.amount_mxn',
    'payment_methods': 'events.payment_method',
    'statuses': 'events.order_status',
}) }}
