-- The last rides before each snapshot (see macros/event_sequences.sql for truncation rules).
{{ event_sequences('ride', 'n_rides', {
    'origin_texts': 'events.origin_text',
    'place_texts': 'events.place_text',
    'geohashes': 'events.event_geohash_fine',
    'local_hours': 'events.local_hour',
    'amounts': 'events.amount_mxn',
    'payment_methods': 'events.payment_method',
    'statuses': 'events.order_status',
}) }}
