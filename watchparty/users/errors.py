from watchparty.core.errors import AppError


class EmailTaken(AppError):
    status_code = 409
    code = "email_taken"
    message = "An account with this email already exists"


class UsernameTaken(AppError):
    status_code = 409
    code = "username_taken"
    message = "This username is taken"
