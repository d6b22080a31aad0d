"""Notifications: Slack pages when a run is not certified, notices of certified runs, backfill summaries."""
