"""Notifications: Slack pages when certification halts publishing, and task failure notices."""
