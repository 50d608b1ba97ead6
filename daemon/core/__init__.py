"""The pure core: every table transition lives here.

Nothing in this package does I/O, reads the clock, or keeps globals: times arrive as arguments
(epoch milliseconds) and state is a deterministic fold of the event log. A test checks the imports.

- events.py: the one registry of event and command types (typed, versioned, upcast on read).
- reasons.py: why an input is refused (a code and a sentence; the shell maps codes to HTTP).
- rules.py: the table rules as data (status precedence, host refusals and no-ops, holds);
  docs/table-rules.md is rendered from it.
- decide.py: deciding a floor input (POS event, host command, hold): events or a refusal.
- floor.py: the fold of check and table facts, and each table's derived state.
- state.py: the whole state, `process` (decide + fold + parts) and snapshots.
"""
