"""The pure core: every table transition lives here.

Nothing in this package does I/O, reads the clock, or keeps globals: times arrive as arguments
(epoch milliseconds) and state is a deterministic fold of the event log. A test checks the imports.
"""
