"""Reading data (tables and images), the table schema and its reversible transform."""
