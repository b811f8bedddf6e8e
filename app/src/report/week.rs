//! ISO weeks (`2026-W47`) and the instants they span in a timezone.
//!
//! A week runs from Monday 00:00 to the next Monday 00:00 local time. Its bounds are
//! computed in the timezone, so a week containing a daylight-saving change is 167 or 169
//! hours long, as the people reading the report lived it.

use std::{fmt, str::FromStr};

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IsoWeek {
    year: i32,
    week: u32,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WeekError {
    #[error("{0:?} is not an ISO week: write it like 2026-W47")]
    Malformed(String),
    #[error("{0} has no week {1}")]
    NoSuchWeek(i32, u32),
    #[error("{0} is out of range: reports cover the years {first} to {last}", first = IsoWeek::YEARS.start(), last = IsoWeek::YEARS.end())]
    YearOutOfRange(i32),
}

impl IsoWeek {
    /// The years a report can be about: anything else is a typing mistake (and `0000-W01`
    /// would render dates chrono cannot print).
    pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

    pub fn new(year: i32, week: u32) -> Result<Self, WeekError> {
        if !Self::YEARS.contains(&year) {
            return Err(WeekError::YearOutOfRange(year));
        }
        NaiveDate::from_isoywd_opt(year, week, Weekday::Mon)
            .map(|_| Self { year, week })
            .ok_or(WeekError::NoSuchWeek(year, week))
    }

    /// The week holding `instant` in `tz`.
    pub fn containing(instant: DateTime<Utc>, tz: Tz) -> Self {
        let iso = instant.with_timezone(&tz).date_naive().iso_week();
        Self { year: iso.year(), week: iso.week() }
    }

    pub fn monday(self) -> NaiveDate {
        NaiveDate::from_isoywd_opt(self.year, self.week, Weekday::Mon).expect("checked in new")
    }

    pub fn sunday(self) -> NaiveDate {
        NaiveDate::from_isoywd_opt(self.year, self.week, Weekday::Sun).expect("checked in new")
    }

    pub fn previous(self) -> Self {
        let iso = (self.monday() - chrono::Days::new(7)).iso_week();
        Self { year: iso.year(), week: iso.week() }
    }

    pub fn next(self) -> Self {
        let iso = (self.monday() + chrono::Days::new(7)).iso_week();
        Self { year: iso.year(), week: iso.week() }
    }

    /// [start, end): Monday 00:00 of this week and of the next, in `tz`.
    pub fn bounds(self, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
        (local_midnight(self.monday(), tz), local_midnight(self.next().monday(), tz))
    }
}

/// The first instant of `day` in `tz`. Where midnight does not exist (a daylight-saving jump
/// at 00:00), the day starts at the first instant after the gap.
fn local_midnight(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    match tz.from_local_datetime(&midnight) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
        chrono::LocalResult::None => (1..=180)
            .find_map(|minutes| tz.from_local_datetime(&(midnight + chrono::Duration::minutes(minutes))).earliest())
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| Utc.from_utc_datetime(&midnight)),
    }
}

impl fmt::Display for IsoWeek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-W{:02}", self.year, self.week)
    }
}

impl FromStr for IsoWeek {
    type Err = WeekError;

    /// `2026-W47` (also `2026-w47` and `2026W47`, as browsers' week inputs and people write it).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let malformed = || WeekError::Malformed(text.chars().take(40).collect());
        let trimmed = text.trim();
        let (year, week) = trimmed.split_once(['W', 'w']).ok_or_else(malformed)?;
        let year = year.strip_suffix('-').unwrap_or(year);
        if year.len() != 4 || !(1..=2).contains(&week.len()) {
            return Err(malformed());
        }
        let year: i32 = year.parse().map_err(|_| malformed())?;
        let week: u32 = week.parse().map_err(|_| malformed())?;
        Self::new(year, week)
    }
}

/// A timezone by its IANA name (`UTC`, `Europe/Paris`).
pub fn parse_timezone(name: &str) -> Result<Tz, String> {
    name.trim()
        .parse::<Tz>()
        .map_err(|_| format!("unknown timezone {name:?}: use an IANA name such as UTC or Europe/Paris"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_iso_weeks() {
        let week: IsoWeek = "2026-W47".parse().unwrap();
        assert_eq!(week.to_string(), "2026-W47");
        assert_eq!("2026w5".parse::<IsoWeek>().unwrap().to_string(), "2026-W05");
        assert_eq!(week.monday(), NaiveDate::from_ymd_opt(2026, 11, 16).unwrap());
        assert_eq!(week.sunday(), NaiveDate::from_ymd_opt(2026, 11, 22).unwrap());
        for bad in ["", "2026", "2026-47", "W47", "2026-W", "2026-W470", "20x6-W47", "2026-W-1"] {
            assert!(matches!(bad.parse::<IsoWeek>(), Err(WeekError::Malformed(_))), "{bad}");
        }
        assert_eq!("2026-W54".parse::<IsoWeek>(), Err(WeekError::NoSuchWeek(2026, 54)));
        assert_eq!("2026-W00".parse::<IsoWeek>(), Err(WeekError::NoSuchWeek(2026, 0)));
        // 2026 has 53 ISO weeks; 2025 has 52.
        assert!("2026-W53".parse::<IsoWeek>().is_ok());
        assert!("2025-W53".parse::<IsoWeek>().is_err());
        for year in ["0000", "1999", "2101", "9999"] {
            assert_eq!(
                format!("{year}-W01").parse::<IsoWeek>(),
                Err(WeekError::YearOutOfRange(year.parse().unwrap())),
                "{year}"
            );
        }
        assert!("2000-W01".parse::<IsoWeek>().is_ok() && "2100-W01".parse::<IsoWeek>().is_ok());
    }

    #[test]
    fn weeks_step_across_years() {
        let first: IsoWeek = "2027-W01".parse().unwrap();
        assert_eq!(first.previous().to_string(), "2026-W53");
        assert_eq!(first.previous().next(), first);
    }

    #[test]
    fn bounds_follow_the_timezone() {
        let week: IsoWeek = "2026-W47".parse().unwrap();
        let (start, end) = week.bounds(chrono_tz::UTC);
        assert_eq!(start.to_rfc3339(), "2026-11-16T00:00:00+00:00");
        assert_eq!(end.to_rfc3339(), "2026-11-23T00:00:00+00:00");
        let (start, _) = week.bounds(chrono_tz::Europe::Paris);
        assert_eq!(start.to_rfc3339(), "2026-11-15T23:00:00+00:00");
        // The week of Europe's spring change lasts 167 hours.
        let (start, end) = "2026-W13".parse::<IsoWeek>().unwrap().bounds(chrono_tz::Europe::Paris);
        assert_eq!((end - start).num_hours(), 167);
        let late_sunday = Utc.with_ymd_and_hms(2026, 11, 22, 23, 30, 0).unwrap();
        assert_eq!(IsoWeek::containing(late_sunday, chrono_tz::UTC), week);
        assert_eq!(IsoWeek::containing(late_sunday, chrono_tz::Europe::Paris), week.next());
    }

    #[test]
    fn timezones_by_name() {
        assert!(parse_timezone("Europe/Paris").is_ok());
        assert!(parse_timezone("Mars/Olympus").unwrap_err().contains("unknown timezone"));
    }
}
