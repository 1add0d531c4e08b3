"""The REST compatibility layer: ROUTES.md served by running GraphQL documents."""
