"""board: the router around the modem — routes, status LED, GPIO. Knows nothing of AT or MQTT."""
