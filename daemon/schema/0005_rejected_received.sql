-- v5: rejected inputs by when they came, for the scheduled pruning.
CREATE INDEX rejected_received ON rejected (received);
