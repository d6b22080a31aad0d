"""Source snapshots on disk and the synthetic generators that write them."""
