"""Domain errors raised by services; the edges (views, API, CLI) turn them into responses."""


class DomainError(Exception):
    """Base: carries an HTTP-ish status so every edge maps it the same way."""

    status = 400

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    status = 404


class Forbidden(DomainError):
    status = 403


class Conflict(DomainError):
    status = 409


class Gone(DomainError):
    status = 410


class Invalid(DomainError):
    status = 422
