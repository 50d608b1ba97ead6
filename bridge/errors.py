"""The two kinds of failure the bridge tells apart, for every provider and poller."""

from __future__ import annotations


class CloudError(Exception):
    """Something went wrong talking to the cloud."""


class TransientError(CloudError):
    """Worth retrying: timeouts, connection errors, 429, 5xx, garbage answers."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(CloudError):
    """A 4xx that retrying cannot fix."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
