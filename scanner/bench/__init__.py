"""``arbscan bench``: deterministic, offline performance figures of the scanner.

Modes: ``throughput`` (default; the full hot path per exchange and frame kind against bare
``orjson.loads`` of the same bytes), ``latency`` (frame receipt to opportunity event over
loopback WebSockets at a fixed rate), ``memory`` (RSS with many full books) and ``scrape``
(a large /metrics scrape and the loop lag it causes). ``suite`` runs a mode and reports it;
``frames`` makes the wire frames from the simulator's market model and encoders.
"""
