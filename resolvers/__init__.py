"""The domain: business rules as plain async functions over the database, one module per area."""
