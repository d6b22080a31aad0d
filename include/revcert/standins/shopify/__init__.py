"""A Shopify stand-in: Admin GraphQL orders for many shops, search, cost throttling, bulk operations, faults."""
