"""The warehouse's SQL, one folder per layer, shipped inside the package as `revcert.sql`."""
