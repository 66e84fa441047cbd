"""Pure domain logic on plain data. Imports neither Flask nor SQLAlchemy (a test enforces it)."""
