"""A Salesforce stand-in: REST query/queryAll, Bulk API 2.0, OAuth, errors and faults."""
