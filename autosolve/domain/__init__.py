"""The domain: tenants, task specs, and the tasks autosolve runs."""
