"""The DuckDB catalog: schema, writer, and the queries the app and CLI read."""
