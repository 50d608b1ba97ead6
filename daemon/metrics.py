"""Prometheus series, all `floorlink_*`, in the process's default registry (served at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

FAST_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

EVENTS = Counter("floorlink_events_total", "Inputs taken, by type and result", ["type", "result"])
INVALID = Counter(
    "floorlink_invalid_messages_total",
    "POS messages that could not be read at all (no id to answer), by reason",
    ["reason"],
)
TABLES = Gauge("floorlink_tables", "Tables by status", ["status"])
SYNC_LATENCY = Histogram(
    "floorlink_sync_latency_seconds",
    "From a POS message's arrival to its table change committed and published",
    buckets=FAST_BUCKETS,
)
COMMIT_BATCH = Histogram(
    "floorlink_store_batch_size",
    "Inputs per store commit",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
OUTBOX_DEPTH = Gauge("floorlink_outbox_depth", "Pending outbox effects", ["consumer"])
OUTBOX_AGE = Gauge(
    "floorlink_outbox_oldest_age_seconds", "Age of the oldest pending effect", ["consumer"]
)
OUTBOX_DEAD = Gauge(
    "floorlink_outbox_dead", "Effects parked in the dead-letter state", ["consumer"]
)
PAGES = Counter(
    "floorlink_pages_total",
    "Pages by result and delivery state: sent, expired, port_down, invalid; written, "
    "acknowledged, transmitted, retrying, failed; nak, busy, no_answer (docs/pagers.md)",
    ["result"],
)
PAGER_UP = Gauge("floorlink_pager_up", "1 while the pager transmitter is connected and answers")
SERIAL_RECONNECTS = Counter("floorlink_serial_reconnects_total", "Serial port reopenings", ["port"])
BROKER_CONNECTED = Gauge("floorlink_broker_connected", "1 while the MQTT broker is connected")
CLOUD_CONNECTED = Gauge("floorlink_cloud_connected", "1 while the cloud answers")
QUOTE_ERROR = Histogram(
    "floorlink_quote_error_minutes",
    "Absolute difference between a quoted and the actual wait",
    buckets=(1, 2, 3, 5, 8, 12, 20, 30, 60),
)
CONFLICTS = Counter(
    "floorlink_conflicts_total", "Cloud reconciliation conflicts detected, by kind", ["kind"]
)
COMPONENT_UP = Gauge(
    "floorlink_component_up", "1 while the component runs and does its job", ["component"]
)
COMPONENT_RESTARTS = Counter(
    "floorlink_component_restarts_total",
    "Times the supervisor restarted a failed component",
    ["component"],
)
CLOUD_ROWS_REJECTED = Counter(
    "floorlink_cloud_rows_rejected_total",
    "Reservations skipped from a pull page because they were malformed (the rest is taken)",
)
CLOUD_CURSOR_STALLED = Counter(
    "floorlink_cloud_cursor_stalled_total",
    "Pulls whose page had rows but did not move the cursor (backed off)",
)
CLOCK_JUMPS = Counter(
    "floorlink_clock_jumps_total", "Wall-clock jumps the box noticed (and kept waits across)"
)
STORE_WRITABLE = Gauge(
    "floorlink_store_writable", "1 while the store takes writes; 0 while the disk is full"
)
STORE_WRITABLE.set(1)
INTEGRATION_REJECTIONS = Counter(
    "floorlink_integration_rejections_total",
    "Vendor records Floorlink could not place (a table name matching no table, ...), by source",
    ["source"],
)
RECEIPT_DOCUMENTS = Counter(
    "floorlink_receipt_documents_total",
    "Printed documents seen by a receipt source, by what they became",
    ["source", "result"],
)
RECEIPT_BYTES = Counter(
    "floorlink_receipt_bytes_total",
    "Bytes forwarded unchanged by a receipt proxy or tap, by direction",
    ["source", "direction"],
)
RECEIPT_DROPPED = Counter(
    "floorlink_receipt_parser_dropped_bytes_total",
    "Bytes forwarded but not parsed because the parser was behind (printing is unaffected)",
    ["source"],
)
RECEIPT_CONNECTIONS = Counter(
    "floorlink_receipt_connections_total",
    "POS connections to a receipt proxy, by how they ended",
    ["source", "result"],
)
STORE_PRUNED = Counter(
    "floorlink_store_pruned_total",
    "Rows the store janitor deleted, by what they were",
    ["what"],
)
STORE_INTEGRITY = Gauge(
    "floorlink_store_integrity_ok",
    "1 when the last integrity check of the store found it sound, 0 when it did not",
)
GUESTS_ERASED = Counter(
    "floorlink_guests_erased_total", "Guests whose personal data was erased by the running daemon"
)
