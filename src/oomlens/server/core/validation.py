"""Request values FastAPI could not parse (a bad date, a word where a number goes), answered like
every other client error of this API: 422 with a one-line ``detail`` naming the value, rather
than FastAPI's list of error objects."""

from __future__ import annotations

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


async def one_line_422(_request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    first = errors[0] if errors else {"loc": ("request",), "msg": "invalid"}
    loc = [str(part) for part in first.get("loc", ())]
    where = ".".join(loc[1:]) or ".".join(loc) or "request"  # ("query", "since") -> since
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return JSONResponse({"detail": f"{where}: {first.get('msg', 'invalid')}{more}"},
                        status_code=422)
