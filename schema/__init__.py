"""The GraphQL contract: types, inputs, permissions, the root schema and its executor."""
