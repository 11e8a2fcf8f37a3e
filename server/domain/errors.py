"""Domain errors carry a message a facilitator or course director can read."""


class DomainError(Exception):
    """A command that the course's rules do not allow, or a value that makes no sense."""


class PermissionDenied(DomainError):
    """The person asking may not do this in their role."""
