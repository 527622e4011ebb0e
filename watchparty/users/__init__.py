"""Users: accounts, profiles and roles."""
