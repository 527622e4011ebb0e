"""Infrastructure shared by every domain: database, errors, security, logging. Depends on config only."""
