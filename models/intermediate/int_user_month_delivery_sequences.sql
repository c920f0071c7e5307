-- The last deliveries before each snapshot (see macros/event_sequences.sql for truncation rules).
{{ event_sequences('delivery', 'n_deliveries', {
    'store_text_keys': 'events.place_text_key',
    'item_text_keys': 'events.item_text_keys',
    'geohashes': 'events.event_geohash_fine',
    'local_hours': 'events.local_hour',
    'amounts': 'events.amount_mxn',
    'payment_methods': 'events.payment_method',
    'statuses': 'events.order_status',
}) }}
