"""One exception hierarchy, Hive-shaped messages, mapped onto PEP 249.

Every error a user can cause derives from `Error` (PEP 249's base) and carries
a SQLSTATE and Hive's error code, so the DB-API, the CLI and the shell all
print the same `FAILED: SemanticException [Error 10001]: ...` text.
"""

from __future__ import annotations


class Warning(Exception):  # noqa: A001 - PEP 249 name
    pass


class Error(Exception):
    """Base of all hiveish errors (PEP 249 `Error`)."""

    sqlstate = "HY000"
    hive_kind = "Error"
    code: int | None = None

    def __init__(self, message: str, *, sqlstate: str | None = None, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if sqlstate:
            self.sqlstate = sqlstate
        if code is not None:
            self.code = code

    def hive_message(self) -> str:
        """The text Hive's CLI prints after `FAILED: `."""
        return f"{self.hive_kind}: {self.message}" if self.hive_kind else self.message


class InterfaceError(Error):
    hive_kind = "InterfaceError"


class DatabaseError(Error):
    pass


class DataError(DatabaseError):
    sqlstate = "22000"
    hive_kind = "DataError"


class OperationalError(DatabaseError):
    sqlstate = "08S01"
    hive_kind = "Execution Error"


class IntegrityError(DatabaseError):
    sqlstate = "23000"
    hive_kind = "IntegrityError"


class InternalError(DatabaseError):
    sqlstate = "HY000"
    hive_kind = "InternalError"


class ProgrammingError(DatabaseError):
    sqlstate = "42000"
    hive_kind = "Error"


class NotSupportedError(DatabaseError):
    sqlstate = "0A000"
    hive_kind = "NotSupportedError"


# -- Hive-shaped errors -------------------------------------------------------------


class ParseException(ProgrammingError):
    """`ParseException line L:C message` as Hive prints it."""

    hive_kind = "ParseException"

    def __init__(self, message: str, line: int = 1, col: int = 0) -> None:
        self.line, self.col = line, col
        super().__init__(f"line {line}:{col} {message}", sqlstate="42000")

    def hive_message(self) -> str:
        return f"ParseException {self.message}"


class SemanticException(ProgrammingError):
    """`SemanticException [Error 10001]: Line 1:14 Table not found 'x'`."""

    hive_kind = "SemanticException"

    def __init__(self, message: str, *, code: int | None = None, sqlstate: str = "42000",
                 line: int | None = None, col: int | None = None) -> None:
        self.line, self.col = line, col
        if line is not None:
            message = f"Line {line}:{col or 0} {message}"
        if code is not None:
            message = f"[Error {code}]: {message}"
        super().__init__(message, sqlstate=sqlstate, code=code)

    def hive_message(self) -> str:
        sep = " " if self.message.startswith("[Error") else " "
        return f"SemanticException{sep}{self.message}"


class TableNotFound(SemanticException):
    def __init__(self, name: str, **kw) -> None:
        super().__init__(f"Table not found '{name}'", code=10001, sqlstate="42S02", **kw)


class DatabaseNotFound(SemanticException):
    def __init__(self, name: str) -> None:
        super().__init__(f"Database does not exist: {name}", code=10072, sqlstate="42000")


class InvalidColumn(SemanticException):
    def __init__(self, name: str, **kw) -> None:
        super().__init__(f"Invalid table alias or column reference '{name}'", code=10004, **kw)


class AlreadyExists(SemanticException):
    pass


class ExecutionError(OperationalError):
    """A failure while running a statement (storage, engine)."""

    hive_kind = "Execution Error"

    def hive_message(self) -> str:
        return f"Execution Error, return code {self.code or 1} from hiveish: {self.message}"


class Cancelled(OperationalError):
    hive_kind = "Cancelled"

    def __init__(self, message: str = "Query was cancelled") -> None:
        super().__init__(message, sqlstate="HY008")


def failure_message(exc: BaseException) -> str:
    """The `FAILED: ...` line front ends print for any exception (Hive's text for our errors)."""
    if isinstance(exc, Error):
        return f"FAILED: {exc.hive_message()}"
    message = str(exc).split("\n")[0]
    return f"FAILED: {type(exc).__name__}: {message}" if message else f"FAILED: {type(exc).__name__}"
