"""Extraction: Salesforce (and later Shopify) into the raw layer, batch by batch."""
