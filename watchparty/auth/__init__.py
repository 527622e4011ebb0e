"""Authentication: register, login, token rotation, password reset."""
