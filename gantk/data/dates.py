"""Date, date-time and time-of-day columns: recognising them, and converting them to numbers and
back in the column's own format.

A column is a date-time column when its dtype says so (Parquet, DataFrames) or when nearly all of
its text parses with one of the common formats below. Its values become *wall-clock seconds*: for
date-times, seconds since 1970-01-01 00:00 as read on the column's clock (its time zone, if it has
one); for times of day, seconds since midnight. Cells that do not parse are missing values.
Decoding writes numbers back with the same format, time zone and resolution (whole days,
minutes or seconds, as the data had).
"""

from __future__ import annotations

import datetime
import re

import numpy as np
import pandas as pd

#: share of a text column's values that must parse before it counts as dates (the rest: missing)
DATE_SHARE = 0.9
#: recognising a text column's format looks at its first rows' most frequent distinct values
PROBE_ROWS = 2000
PROBE_VALUES = 200
DAY = 86_400

_DATES = ("%Y-%m-%d", "%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y", "%Y/%m/%d", "%d-%m-%Y", "%m-%d-%Y",
          "%m/%d/%y", "%d/%m/%y", "%d.%m.%y",  # two-digit years, as spreadsheets export them
          "%d %b %Y", "%d-%b-%Y", "%b %d, %Y", "%d %B %Y", "%B %d, %Y")  # month names
_CLOCKS = ("%H:%M", "%H:%M:%S", "%H:%M:%S.%f")
_TWELVE_HOUR_CLOCKS = ("%I:%M %p", "%I:%M:%S %p")
#: date-time formats: each date, alone or followed by a clock after a space (or a T, 24-hour)
DATETIME_FORMATS = tuple(f"{date}{joint}{clock}" for date in _DATES
                         for joint, clock in [("", "")]
                         + [(j, c) for j in (" ", "T") for c in _CLOCKS]
                         + [(" ", c) for c in _TWELVE_HOUR_CLOCKS])
TIME_FORMATS = (*_CLOCKS, *_TWELVE_HOUR_CLOCKS)
#: ISO 8601 with a UTC offset or Z, e.g. 2024-03-01T09:30:00+01:00 (pandas writes a space for T)
ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d\d-\d\d(?P<joint>[T ])\d\d:\d\d(?P<seconds>:\d\d)?"
                             r"(?P<fraction>\.\d+)?(Z|[+-]\d\d:?\d\d)$")
#: how a column with UTC offsets is read: ISO 8601; the format recorded is the layout written
#: back, a strftime format ending in this marker, which stands for the column's offset
OFFSET_MARK = "%z"
#: the marker of a column whose offsets follow a time zone's daylight saving time (+01:00 in
#: winter, +02:00 in summer), written with a colon ("%z" then writes "+0100")
COLON_OFFSET_MARK = "%:z"
#: zones named first where several share the rules of a column's offsets (Europe/Berlin's and
#: Europe/Paris's are the same): the ones most people's files are written in
_COMMON_ZONES = ("Europe/London", "Europe/Berlin", "Europe/Athens", "America/New_York",
                 "America/Chicago", "America/Denver", "America/Los_Angeles", "Australia/Sydney")
#: the most a date-time needs to look like one before any format is tried
_LOOKS_LIKE = re.compile(r"^\s*(\d{1,4}[-/.:]\d{1,2}|\d{1,2}[ -][A-Za-z]{3}|[A-Za-z]{3,9} \d{1,2},)")


def recognise(series: pd.Series) -> tuple[str, str | None, str | None] | None:
    """(kind, format, timezone) when ``series`` holds dates or times, else None. ``kind`` is
    "datetime" or "time"; ``format`` is None for datetime dtypes (they stay datetimes) and for
    Python ``date`` and ``time`` objects (Parquet's date32 and time64 columns: they stay objects
    of their type)."""
    if pd.api.types.is_datetime64_any_dtype(series):
        timezone = getattr(series.dt, "tz", None)
        return "datetime", None, None if timezone is None else str(timezone)
    if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
        return None
    present = series.dropna()
    present = present[present.astype(str).str.strip() != ""]
    if len(present) == 0:
        return None
    if all(isinstance(value, datetime.time) for value in present.head(PROBE_VALUES)):
        return "time", None, None
    if all(type(value) is datetime.date for value in present.head(PROBE_VALUES)):
        return "datetime", None, None
    # the distinct values among the first rows, each weighted by how often it occurs there
    counts = present.head(PROBE_ROWS).astype(str).str.strip().value_counts()[:PROBE_VALUES]
    probe, weights = pd.Series(counts.index), counts.to_numpy() / counts.sum()

    def share(matched: pd.Series) -> float:
        return float(weights @ matched.to_numpy(dtype=np.float64))

    if share(probe.str.match(_LOOKS_LIKE)) < DATE_SHARE:
        return None
    if share(probe.str.match(ISO_WITH_OFFSET)) >= DATE_SHARE:
        parsed = pd.to_datetime(probe, format="ISO8601", utc=True, errors="coerce")
        if share(parsed.notna()) >= DATE_SHARE:
            readable = probe[parsed.notna()]
            layout = _offset_layout(readable)
            zone = _daylight_saving_zone(parsed[parsed.notna()], readable)
            if zone is not None:
                colon = readable.str.contains(r"[+-]\d\d:\d\d$").mean() >= 0.5
                return "datetime", layout[:-len(OFFSET_MARK)] + (
                    COLON_OFFSET_MARK if colon else OFFSET_MARK), zone
            return "datetime", layout, _most_common_offset(readable)
    best, best_share = None, DATE_SHARE - 1e-9
    for kind, formats in (("time", TIME_FORMATS), ("datetime", DATETIME_FORMATS)):
        for candidate in formats:
            parsed_share = share(pd.to_datetime(probe, format=candidate, errors="coerce").notna())
            if parsed_share > best_share:
                best, best_share = (kind, candidate, None), parsed_share
    return best


def _offset_layout(values: pd.Series) -> str:
    """The layout most of a column's ISO values share (a T or a space before the clock, seconds,
    a fraction of a second), as a strftime format ending in ``OFFSET_MARK``."""
    parts = values.str.extract(ISO_WITH_OFFSET)
    joint = parts["joint"].mode().iloc[0]
    fraction = parts["fraction"].notna().mean() >= 0.5
    seconds = fraction or parts["seconds"].notna().mean() >= 0.5
    clock = "%H:%M" + (":%S" if seconds else "") + (".%f" if fraction else "")
    return f"%Y-%m-%d{joint}{clock}{OFFSET_MARK}"


def _reads_iso(format: str | None) -> bool:
    """Whether a recorded format is read as ISO 8601 with offsets ("ISO8601": models saved before
    the layout was recorded, written back as %Y-%m-%dT%H:%M:%S)."""
    return format == "ISO8601" or (format or "").endswith((OFFSET_MARK, COLON_OFFSET_MARK))


def _written_offsets(values: pd.Series) -> pd.Series:
    """Each ISO value's UTC offset as a Timedelta (Z: none)."""
    parts = values.str.extract(r"(?:Z|(?P<sign>[+-])(?P<hours>\d\d):?(?P<minutes>\d\d))$")
    minutes = parts["hours"].fillna("0").astype(int) * 60 + parts["minutes"].fillna("0").astype(int)
    return pd.to_timedelta(minutes.where(parts["sign"] != "-", -minutes), unit="min")


def _daylight_saving_zone(instants: pd.Series, values: pd.Series) -> str | None:
    """A time zone whose rules give every value the offset it is written with, where the
    offsets differ (local time written with its offset across daylight saving time): its
    values are then learned on the local clock and new ones written with the offset their date
    has. None where the offsets are one, or no zone's rules fit them."""
    import zoneinfo

    written = _written_offsets(values).to_numpy()
    if len(np.unique(written)) < 2:
        return None
    in_utc = instants.dt.tz_convert("UTC").dt.tz_localize(None)
    known = zoneinfo.available_timezones()
    common = [zone for zone in _COMMON_ZONES if zone in known]
    others = sorted(zone for zone in known
                    if "/" in zone and not zone.startswith(("Etc/", "SystemV/", "posix/"))
                    and zone not in common)
    for zone in (*common, *others):
        local = instants.dt.tz_convert(zone).dt.tz_localize(None)
        if np.array_equal((local - in_utc).to_numpy(), written):
            return zone
    return None


def _is_zone_name(timezone: str | None) -> bool:
    """A zone with rules (Europe/Berlin), not UTC or a fixed offset such as +01:00."""
    return timezone is not None and timezone != "UTC" and not re.fullmatch(
        r"[+-]\d\d:?\d\d", timezone)


def _most_common_offset(values: pd.Series) -> str:
    """The UTC offset most values carry, as they write it ("+01:00", "+0100"; "UTC" for Z):
    decoded values are written in it."""
    offsets = values.str.extract(r"(Z|[+-]\d\d:?\d\d)$")[0]
    offset = offsets.mode().iloc[0]
    return "UTC" if offset == "Z" else offset


def wall_seconds(series: pd.Series, kind: str, format: str | None,
                 timezone: str | None) -> np.ndarray:
    """float64 seconds as described above; NaN where missing or not parseable. Values that are
    date-times already (a Parquet timestamp, a frame's datetime64 column) are taken as they
    are, whatever text format the model learned the column in: training on a CSV and scoring a
    Parquet file of the same table is common."""
    if _holds_datetimes(series):
        parsed = pd.to_datetime(series, errors="coerce")
        if kind == "time":
            if getattr(parsed.dt, "tz", None) is not None:
                parsed = parsed.dt.tz_localize(None)
            since_midnight = parsed - parsed.dt.normalize()
            return since_midnight.dt.total_seconds().to_numpy(dtype=np.float64, na_value=np.nan)
        return _seconds_since_epoch(parsed, timezone)
    if kind == "time" and format is None:  # time objects (or their ISO text, when scoring)
        return series.map(_seconds_of_day).to_numpy(dtype=np.float64)
    if kind == "time":
        text = series.map(lambda value: value.isoformat() if isinstance(value, datetime.time)
                          else value).astype("string").str.strip()
        parsed = pd.to_datetime(text, format=format, errors="coerce")
        since_midnight = parsed - parsed.dt.normalize()
        return since_midnight.dt.total_seconds().to_numpy(dtype=np.float64, na_value=np.nan)
    if format is None:
        parsed = pd.to_datetime(series, errors="coerce")
    elif _reads_iso(format):
        parsed = pd.to_datetime(series.astype("string").str.strip(), format="ISO8601", utc=True,
                                errors="coerce")
    else:
        parsed = pd.to_datetime(series.astype("string").str.strip(), format=format,
                                errors="coerce")
    return _seconds_since_epoch(parsed, timezone)


def _holds_datetimes(series: pd.Series) -> bool:
    """A datetime64 column, or one of date or datetime objects (not text, not times of day)."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return True
    if series.dtype != object:
        return False
    present = series.dropna()
    return len(present) > 0 and isinstance(present.iloc[0], datetime.date)


def _seconds_since_epoch(parsed: pd.Series, timezone: str | None) -> np.ndarray:
    """Wall-clock seconds in the column's zone (naive values are wall clock already)."""
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert(_zone(timezone)).dt.tz_localize(None)
    nanoseconds = parsed.astype("datetime64[ns]").to_numpy().astype(np.int64).astype(np.float64)
    return np.where(parsed.isna().to_numpy(), np.nan, nanoseconds / 1e9)


def _seconds_of_day(value) -> float:
    if not isinstance(value, datetime.time):
        try:
            value = datetime.time.fromisoformat(str(value).strip())
        except ValueError:
            return np.nan
    return value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6


def _zone(timezone: str | None):
    """A time zone name, or a fixed offset such as "+01:00" or "+0100"."""
    if timezone is None or timezone == "UTC":
        return "UTC"
    match = re.fullmatch(r"([+-])(\d\d):?(\d\d)", timezone)
    if match:
        sign = 1 if match.group(1) == "+" else -1
        delta = datetime.timedelta(hours=int(match.group(2)), minutes=int(match.group(3)))
        return datetime.timezone(sign * delta)
    return timezone


def resolution(seconds: np.ndarray) -> float:
    """The coarsest unit every value is a whole number of: a day, an hour, a minute, a second, or
    0 (sub-second values, kept as they come)."""
    present = seconds[np.isfinite(seconds)]
    for unit in (DAY, 3600, 60, 1):
        if np.all(np.mod(present, unit) == 0):
            return float(unit)
    return 0.0


def from_wall_seconds(values: np.ndarray, kind: str, format: str | None, timezone: str | None,
                      dtype: str) -> pd.Series:
    """Decoded seconds back to the column: datetimes (in their zone) for datetime dtypes, else
    text in the column's format; missing where NaN."""
    missing = ~np.isfinite(values)
    nanoseconds = np.where(missing, 0, np.round(values * 1e9)).astype(np.int64)
    stamps = pd.Series(pd.to_datetime(nanoseconds, unit="ns"))
    if kind == "time":
        if format is None:
            return stamps.dt.time.astype(object).where(~missing, None)
        text = stamps.dt.strftime(format).where(~missing, None)
        return text.astype(object)
    if format is None and not dtype.startswith("datetime64"):  # Python dates
        return stamps.dt.date.astype(object).where(~missing, None)
    if format is None:
        if timezone is not None:
            stamps = _on_zone_clock(stamps, _zone(timezone))
        stamps = stamps.where(~missing, pd.NaT)
        return stamps.astype(dtype) if dtype.startswith("datetime64") else stamps
    if _reads_iso(format) and _is_zone_name(timezone):
        return _with_zone_offsets(stamps, format, timezone).where(~missing, None).astype(object)
    if _reads_iso(format):
        layout = "%Y-%m-%dT%H:%M:%S" if format == "ISO8601" else format[:-len(OFFSET_MARK)]
        text = stamps.dt.strftime(layout) + ("Z" if timezone == "UTC" else timezone)
    else:
        text = stamps.dt.strftime(format)
    return text.where(~missing, None).astype(object)


def _with_zone_offsets(stamps: pd.Series, format: str, timezone: str) -> pd.Series:
    """Wall-clock ``stamps`` written in ``format``'s layout with the offset ``timezone`` has at
    each."""
    colon = format.endswith(COLON_OFFSET_MARK)
    layout = format[:-len(COLON_OFFSET_MARK if colon else OFFSET_MARK)]
    local = _on_zone_clock(stamps, timezone)
    minutes = ((local.dt.tz_localize(None) - local.dt.tz_convert("UTC").dt.tz_localize(None))
               .dt.total_seconds() // 60).astype(int)
    # a zone has a few offsets: each spelled once, not once per row
    spelled = {offset: f"{'-' if offset < 0 else '+'}{abs(offset) // 60:02d}"
                       f"{':' if colon else ''}{abs(offset) % 60:02d}"
               for offset in minutes.unique()}
    return local.dt.strftime(layout) + minutes.map(spelled)


def _on_zone_clock(stamps: pd.Series, timezone) -> pd.Series:
    """Wall-clock ``stamps`` as times in ``timezone``: in the hour that repeats when clocks go
    back, the standard time's (not a missing value); in the hour skipped when they go forward,
    moved on past the gap."""
    return stamps.dt.tz_localize(timezone, ambiguous=np.zeros(len(stamps), dtype=bool),
                                 nonexistent="shift_forward")
