"""What can go wrong reading a source, sorted by whether another try could help.

The DAGs retry a task only for `SourceUnavailable`; the other two fail at once
with the rule and the records named, and page once.
"""
from __future__ import annotations


class ExtractionError(RuntimeError):
    """A source could not be read into raw; the message says what and why."""


class SourceUnavailable(ExtractionError):
    """Transient faults (network, 5xx, rate limits) outlasted the retries: a later try may succeed."""


class SourceRefused(ExtractionError):
    """The source refused a request and would refuse it again: credentials, permissions, a missing object."""


class SourceDataError(ExtractionError):
    """Records that break a rule (a field missing from the org, a malformed value, a duplicate id), named."""
