"""Date, date-time and time-of-day columns: recognised in their formats and zones, learned as
week, weekday and time of day, written back in the column's own format with new values, in
PyTorch and in the exported ONNX file alike."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from gantk.cli import cli
from gantk.data.codec import TableCodec
from gantk.data.dates import DAY, wall_seconds
from gantk.data.tables import infer_schema
from gantk.model.directory import load_model
from gantk.onnx.runtime import OnnxGenerator
from gantk.sampling.generate import sample

RNG = np.random.default_rng(0)
TEXT_COLUMNS = {
    "iso date": ["2024-01-05", "2024-02-29", "2023-12-31", "2024-07-14"],
    "us date": ["01/05/2024", "02/29/2024", "12/31/2023", "07/14/2024"],
    "european date": ["05.01.2024", "29.02.2024", "31.12.2023", "14.07.2024"],
    "date and time": ["2024-01-05 08:15", "2024-02-29 23:59", "2023-12-31 00:00",
                      "2024-07-14 12:30"],
    "iso with seconds": ["2024-01-05T08:15:01", "2024-02-29T23:59:59", "2023-12-31T00:00:00",
                         "2024-07-14T12:30:30"],
    "with offset": ["2024-01-05T08:15:00+01:00", "2024-02-29T23:59:00+01:00",
                    "2023-12-31T00:00:00+01:00", "2024-07-14T12:30:00+01:00"],
    "offset as pandas writes it": ["2024-01-05 08:15:00+00:00", "2024-02-29 23:59:00+00:00",
                                   "2023-12-31 00:00:00+00:00", "2024-07-14 12:30:00+00:00"],
    "offset without colon or seconds": ["2024-01-05T08:15-0500", "2024-02-29T23:59-0500",
                                        "2023-12-31T00:00-0500", "2024-07-14T12:30-0500"],
    "two-digit year": ["01/05/24", "02/29/24", "12/31/23", "07/14/24"],
    "month name": ["05 Jan 2024", "29 Feb 2024", "31 Dec 2023", "14 Jul 2024"],
    "us month name": ["January 05, 2024", "February 29, 2024", "December 31, 2023",
                      "July 14, 2024"],
    "twelve-hour clock": ["01/05/2024 08:15 AM", "02/29/2024 11:59 PM", "12/31/2023 12:00 AM",
                          "07/14/2024 12:30 PM"],
    "time of day": ["08:15", "23:59", "00:00", "12:30"],
}


def test_text_dates_and_times_round_trip_in_their_own_format():
    frame = pd.DataFrame({name: values * 10 for name, values in TEXT_COLUMNS.items()})
    codec = TableCodec.fit(frame)
    kinds = {column.name: (column.kind, column.format) for column in codec.transformer.schema.columns}
    assert kinds["us date"] == ("datetime", "%m/%d/%Y")
    assert kinds["european date"] == ("datetime", "%d.%m.%Y")
    assert kinds["with offset"] == ("datetime", "%Y-%m-%dT%H:%M:%S%z")
    assert kinds["offset as pandas writes it"] == ("datetime", "%Y-%m-%d %H:%M:%S%z")
    assert kinds["offset without colon or seconds"] == ("datetime", "%Y-%m-%dT%H:%M%z")
    assert kinds["time of day"] == ("time", "%H:%M")
    assert kinds["two-digit year"] == ("datetime", "%m/%d/%y")
    assert kinds["us month name"] == ("datetime", "%B %d, %Y")
    assert kinds["twelve-hour clock"] == ("datetime", "%m/%d/%Y %I:%M %p")
    decoded = codec.decode(codec.encode(frame).features, None, None)
    pd.testing.assert_frame_equal(decoded.astype(str), frame.astype(str))


def test_datetime_dtypes_keep_their_dtype_and_zone():
    stamps = pd.Series(pd.date_range("2024-03-30", periods=40, freq="7h", tz="Europe/Paris"))
    frame = pd.DataFrame({"at": stamps, "naive": stamps.dt.tz_localize(None)})
    codec = TableCodec.fit(frame)
    decoded = codec.decode(codec.encode(frame).features, None, None)
    assert decoded["at"].dtype == frame["at"].dtype and decoded["naive"].dtype == frame["naive"].dtype
    assert (decoded["at"] == frame["at"]).all() and (decoded["naive"] == frame["naive"]).all()


def test_local_times_written_with_their_daylight_saving_offsets_keep_them(tmp_path):
    """A log written in local time with its offset (+01:00 in winter, +02:00 in summer) was
    learned on one fixed offset: a 9 a.m. summer row read as 8 a.m., and every new row was
    written +02:00, January's too. The offsets' zone is found, rows are learned on its clock,
    and each new value is written with the offset its date has there."""
    local = pd.Series(pd.date_range("2024-01-01 06:00", periods=365, freq="D")
                      + pd.to_timedelta(RNG.integers(0, 12 * 60, 365), unit="min"))
    stamps = local.dt.tz_localize("Europe/Berlin")
    text = stamps.map(lambda stamp: stamp.isoformat())
    frame = pd.DataFrame({"logged": text, "amount": RNG.normal(50, 5, 365).round(2)})
    codec = TableCodec.fit(frame)
    column = codec.transformer.schema.columns[0]
    assert (column.format, column.timezone) == ("%Y-%m-%dT%H:%M:%S%:z", "Europe/Berlin")
    decoded = codec.decode(codec.encode(frame).features, None, None)
    assert decoded["logged"].tolist() == text.tolist()
    nine_am = wall_seconds(pd.Series(["2024-01-10T09:00:00+01:00", "2024-07-10T09:00:00+02:00"]),
                           "datetime", column.format, column.timezone)
    assert (nine_am % DAY == 9 * 3600).all()

    frame.to_csv(tmp_path / "log.csv", index=False)
    runner = CliRunner()
    for command in (["train", str(tmp_path / "log.csv"), "-o", str(tmp_path / "m"), "--steps",
                     "30", "-q"], ["export", str(tmp_path / "m"), "-o", str(tmp_path / "m.onnx"),
                                   "-q"]):
        assert runner.invoke(cli, command).exit_code == 0
    for model in ("m", "m.onnx"):
        out = tmp_path / f"{model}.csv"
        assert runner.invoke(cli, ["sample", str(tmp_path / model), "-n", "300", "-o", str(out),
                                   "-q"]).exit_code == 0
        written = pd.read_csv(out, dtype=str)["logged"]
        in_berlin = pd.to_datetime(written, format="ISO8601", utc=True).dt.tz_convert(
            "Europe/Berlin")
        assert written.str[-6:].nunique() == 2
        assert (in_berlin.map(lambda stamp: stamp.isoformat()) == written).all()


def test_a_wall_clock_time_that_repeats_when_clocks_go_back_is_a_time_not_a_missing_value():
    """New values in the hour that occurs twice (02:30 on the last Sunday of October in Paris)
    were written as missing values into a column that had none."""
    from gantk.data.dates import from_wall_seconds

    repeated = (pd.Timestamp("2024-10-27 02:30") - pd.Timestamp("1970-01-01")).total_seconds()
    typed = from_wall_seconds(np.array([repeated]), "datetime", None, "Europe/Paris",
                              "datetime64[ns, Europe/Paris]")
    written = from_wall_seconds(np.array([repeated]), "datetime", "%Y-%m-%dT%H:%M:%S%:z",
                                "Europe/Paris", "object")
    assert typed[0] == pd.Timestamp("2024-10-27 02:30+01:00")
    assert written[0] == "2024-10-27T02:30:00+01:00"


def test_a_column_learned_as_text_reads_the_same_values_given_as_datetimes():
    """Trained from a CSV's text, scored from Parquet's timestamps (or a frame's dates): the
    same values encode the same, whatever text format the model learned."""
    stamps = pd.Series(pd.date_range("2024-03-30", periods=60, freq="17h"))
    text = pd.DataFrame({"logged": stamps.dt.strftime("%d/%m/%Y %H:%M"),
                         "day": stamps.dt.strftime("%d.%m.%Y"),
                         "clock": stamps.dt.strftime("%I:%M %p")})
    codec = TableCodec.fit(text)
    typed = pd.DataFrame({"logged": stamps, "day": stamps.dt.date,
                          "clock": stamps.dt.normalize() + (stamps - stamps.dt.normalize())})
    np.testing.assert_array_equal(codec.encode(typed).features, codec.encode(text).features)
    zoned = typed.assign(logged=stamps.dt.tz_localize("UTC"))
    np.testing.assert_array_equal(codec.encode(zoned).features, codec.encode(text).features)


def test_unparseable_dates_are_missing_values_not_errors():
    frame = pd.DataFrame({"day": ["2024-01-05", "2024-02-29", "soon", None] + ["2024-03-01"] * 36})
    column = infer_schema(frame).columns[0]
    assert column.kind == "datetime" and column.missing_rate == pytest.approx(2 / 40)
    codec = TableCodec.fit(frame)
    decoded = codec.decode(codec.encode(frame).features, None, None)["day"]
    assert decoded.isna().tolist()[:4] == [False, False, True, True]
    assert decoded[0] == "2024-01-05"


@pytest.mark.parametrize("values", [["Paris", "Lyon"], ["1.2.3", "1.2.4"], ["12-A", "13-B"],
                                    ["2024-01-05", "later", "never", "unknown"]])
def test_text_that_is_not_mostly_dates_stays_categories(values):
    column = infer_schema(pd.DataFrame({"x": values * 10})).columns[0]
    assert column.kind == "categorical"


def office_log(rows: int) -> pd.DataFrame:
    """Weekday events in office hours, weekend events in the evening, logged as a date, a time
    and one timestamp, with a reading that rises through the day. Every weekday and hour occurs,
    so only their pairing shows whether the rhythm was learned."""
    days = pd.Timestamp("2024-01-01") + pd.to_timedelta(RNG.integers(0, 180, rows), unit="D")
    weekend = np.asarray(days.day_of_week >= 5)
    minutes = np.where(weekend, RNG.integers(18 * 60, 24 * 60, rows),
                       RNG.integers(8 * 60, 17 * 60, rows))
    stamps = days + pd.to_timedelta(minutes, unit="m")
    return pd.DataFrame({"Date": days.strftime("%d/%m/%Y"), "Time": stamps.strftime("%H:%M"),
                         "logged": stamps.strftime("%Y-%m-%d %H:%M:%S"),
                         "reading": np.round(20 + minutes / 60 + RNG.normal(0, 0.5, rows), 2)})


def rhythm(frame: pd.DataFrame) -> dict[str, float]:
    """The share of rows that keep the rule, by the Date and Time columns and by the timestamp."""
    def kept(day: pd.Series, hour: pd.Series) -> float:
        weekend = day.dt.day_of_week >= 5
        return float(np.mean(np.where(weekend, hour >= 18, (hour >= 8) & (hour < 17))))

    logged = pd.to_datetime(frame["logged"])
    return {"date and time": kept(pd.to_datetime(frame["Date"], format="%d/%m/%Y"),
                                  pd.to_datetime(frame["Time"], format="%H:%M").dt.hour),
            "timestamp": kept(logged, logged.dt.hour)}


@pytest.fixture(scope="module")
def office_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("office")
    office_log(1000).to_csv(folder / "log.csv", index=False)
    runner = CliRunner()
    for steps, name in (("400", "trained"), ("1", "untrained")):
        result = runner.invoke(cli, ["train", str(folder / "log.csv"), "-o", str(folder / name),
                                     "--steps", steps, "--batch-size", "250", "-q",
                                     # the encoding's test, on the quick single-row recipe
                                     "--loss", "ns", "--pac", "1",
                                     "--no-category-conditioning"])
        assert result.exit_code == 0, result.output
    return folder


def test_a_trained_model_learns_weekly_and_daily_rhythms_with_new_timestamps(office_model):
    real = pd.read_csv(office_model / "log.csv")
    trained = sample(load_model(office_model / "trained"), 2000, seed=1)
    untrained = sample(load_model(office_model / "untrained"), 2000, seed=1)
    learned, unlearned = rhythm(trained), rhythm(untrained)
    assert min(learned.values()) > 0.85, learned
    assert max(unlearned.values()) < 0.8, unlearned  # an untrained model ignores the rhythm
    assert (~trained["logged"].isin(real["logged"])).mean() > 0.5  # new timestamps, not copies
    assert trained["Date"].str.fullmatch(r"\d\d/\d\d/\d{4}").all()
    logged = pd.to_datetime(trained["logged"])
    assert logged.min() >= pd.to_datetime(real["logged"]).min()
    assert logged.max() <= pd.to_datetime(real["logged"]).max()
    # the reading still rises through the day
    hours = pd.to_datetime(trained["Time"], format="%H:%M").dt.hour
    assert np.corrcoef(hours, trained["reading"])[0, 1] > 0.5


def test_exported_generator_writes_the_same_dates(office_model):
    result = CliRunner().invoke(cli, ["export", str(office_model / "trained"), "-o",
                                      str(office_model / "g.onnx")])
    assert result.exit_code == 0, result.output
    ours = OnnxGenerator(office_model / "g.onnx").sample(500, seed=4)
    theirs = sample(load_model(office_model / "trained"), 500, seed=4)
    # the same text; where float32 generator output differs in its last bits and a time sits on
    # a rounding edge, one unit (a day, a minute) apart
    for column, unit, format in (("Date", "1D", "%d/%m/%Y"), ("Time", "1min", "%H:%M"),
                                 ("logged", "1min", None)):
        assert (ours[column] == theirs[column]).mean() > 0.97
        gap = pd.to_datetime(ours[column], format=format) - pd.to_datetime(theirs[column],
                                                                         format=format)
        assert gap.abs().max() <= pd.Timedelta(unit)


def test_models_saved_before_layouts_were_recorded_still_write_iso_with_a_t():
    from gantk.data.dates import from_wall_seconds

    written = from_wall_seconds(np.array([3600.0, np.nan]), "datetime", "ISO8601", "+01:00", "object")
    assert written[0] == "1970-01-01T01:00:00+01:00" and pd.isna(written[1])


def test_fractions_of_a_second_keep_their_place_in_an_iso_layout():
    frame = pd.DataFrame({"at": ["2024-01-05T08:15:00.25Z", "2024-02-29T23:59:59.5Z"] * 20})
    column = infer_schema(frame).columns[0]
    assert (column.format, column.timezone) == ("%Y-%m-%dT%H:%M:%S.%f%z", "UTC")


def test_date_and_time_objects_come_back_as_objects_of_their_type(tmp_path):
    """Parquet's date32 and time64 columns read as Python dates and times; samples keep them."""
    import datetime

    stamps = pd.Series(pd.date_range("2024-01-01", periods=60, freq="17h"))
    frame = pd.DataFrame({"day": stamps.dt.date, "clock": stamps.dt.time})
    frame.loc[3, "day"] = None
    frame.to_parquet(tmp_path / "days.parquet")
    read = pd.read_parquet(tmp_path / "days.parquet")
    codec = TableCodec.fit(read)
    decoded = codec.decode(codec.encode(read).features, None, None)
    assert decoded["day"].tolist() == read["day"].tolist()  # None stays missing
    assert decoded["clock"].tolist() == read["clock"].tolist()
    assert all(type(value) is datetime.date for value in decoded["day"].dropna())
    decoded.to_parquet(tmp_path / "back.parquet")
    import pyarrow.parquet as pq

    schema = pq.read_schema(tmp_path / "back.parquet")
    assert str(schema.field("day").type) == "date32[day]"
    assert str(schema.field("clock").type).startswith("time64")
