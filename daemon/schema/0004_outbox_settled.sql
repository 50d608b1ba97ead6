-- v4: settled outbox rows by when they settled, for the scheduled pruning.
CREATE INDEX outbox_settled ON outbox (done_at) WHERE state != 'pending';
