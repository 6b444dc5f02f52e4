"""RFC 3339 UTC timestamps, the only time format the public API speaks."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from google.protobuf.timestamp_pb2 import Timestamp

from services.runtime.errors import ApiError


def format_rfc3339(moment: datetime) -> str:
    # Not strftime("%Y"): it does not zero-pad years before 1000 ("353-02-24T…").
    utc = moment.astimezone(UTC).replace(microsecond=0, tzinfo=None)
    return f"{utc.isoformat()}Z"


def format_timestamp(message: Timestamp, present: bool) -> str | None:
    """A protobuf Timestamp as RFC 3339, or None when the field is unset."""
    return format_rfc3339(message.ToDatetime(tzinfo=UTC)) if present else None


def parse_datetime(value: object, field: str, *, end_of_day: bool = False) -> datetime:
    """An ISO date or datetime; naive values are UTC; a bare date means its start (or end)."""
    if not isinstance(value, str) or not value:
        raise ApiError("INVALID_PARAMETER", f"{field} must be an ISO date or datetime", field=field)
    text = value.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime.combine(day, time.max if end_of_day else time.min, tzinfo=UTC)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(
            "INVALID_PARAMETER", f"{field} must be an ISO date or datetime", field=field
        ) from None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+05:00 is before year 1 in UTC
        raise ApiError("INVALID_PARAMETER", f"{field} is out of range", field=field) from None
