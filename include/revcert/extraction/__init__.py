"""Extraction: Salesforce CPQ and Shopify shops into the raw layer, batch by batch, exactly as sent."""
