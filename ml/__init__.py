"""Credit scoring from ride-hailing and delivery records."""
