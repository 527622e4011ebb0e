from watchparty.core.errors import NotFound


class JobNotFound(NotFound):
    code = "job_not_found"
    message = "No such job"
