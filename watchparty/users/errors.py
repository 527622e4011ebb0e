from watchparty.core.errors import AppError


class EmailTaken(AppError):
    status_code = 409
    code = "email_taken"
    message = "An account with this email already exists"


class UsernameTaken(AppError):
    status_code = 409
    code = "username_taken"
    message = "This username is taken"


class UnsupportedImage(AppError):
    status_code = 415
    code = "unsupported_media_type"
    message = "The file is not a JPEG, PNG or WebP image"


class InvalidImage(AppError):
    status_code = 422
    code = "invalid_image"
    message = "The image cannot be used"
