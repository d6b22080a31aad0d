"""Local stand-ins that speak the sources' wire protocols, for tests and demos."""
