"""Domain errors raised by services and selectors. Each carries a stable code that the
socket protocol (error frames) and the REST API (error bodies) expose as-is."""

from __future__ import annotations


class ParleyError(Exception):
    code = "error"
    status = 400

    def __init__(self, message: str = "", *, code: str | None = None, field: str | None = None):
        super().__init__(message or self.__class__.__doc__ or self.code)
        if code:
            self.code = code
        self.field = field

    @property
    def message(self) -> str:
        return str(self)


class ValidationError(ParleyError):
    """The input is invalid."""

    code = "invalid_field"


class NotFound(ParleyError):
    """No such object, or you may not see it."""

    code = "not_found"
    status = 404


class PermissionDenied(ParleyError):
    """You may not do that."""

    code = "forbidden"
    status = 403


class Conflict(ParleyError):
    """The object is not in a state that allows this."""

    code = "conflict"
    status = 409


class AuthenticationFailed(ParleyError):
    """The credentials are missing, invalid or expired."""

    code = "unauthenticated"
    status = 401
