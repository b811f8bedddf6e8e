//! When the campaign will be done at its recent pace, and whether that makes the target date.
//!
//! Method: the work done in each of the last [`WINDOW`] complete weeks (findings fixed or
//! triaged away, net of any reopened) gives the pace. The open findings left, divided by the
//! mean weekly pace, give the expected date; the best and worst of those weeks give the
//! range. A window with no work done gives no date at all (the campaign is stalled), rather
//! than a date centuries away. New findings are not forecast: the scope line shows them.

use chrono::{Datelike, Duration, NaiveDate};
use serde::{Deserialize, Serialize};

/// Complete weeks the pace is measured over.
pub const WINDOW: usize = 4;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Projection {
    /// Open findings left.
    pub open: i64,
    /// Work done in each week of the window, oldest first (fewer when the history is younger).
    pub weekly_done: Vec<i64>,
    /// Mean of `weekly_done`.
    pub mean_per_week: f64,
    /// Done at the mean pace; `None` when there is no pace (or nothing left: see `status`).
    pub expected: Option<NaiveDate>,
    /// At the best week's pace.
    pub best: Option<NaiveDate>,
    /// At the worst week's pace (`None` when some week of the window did nothing).
    pub worst: Option<NaiveDate>,
    pub target: Option<NaiveDate>,
    pub status: Status,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    /// Nothing open is left.
    Done,
    /// No work done in the window: no date can be given.
    Stalled,
    /// A pace, but no target date set.
    NoTarget,
    OnTrack,
    /// The expected date is this many weeks (rounded up) after the target.
    Behind {
        weeks: i64,
    },
}

impl Projection {
    /// The status in words: "on track", "behind by 3 weeks".
    pub fn verdict(&self) -> String {
        match self.status {
            Status::Done => "done".to_owned(),
            Status::Stalled => format!("stalled: nothing fixed in the last {} weeks", self.weekly_done.len()),
            Status::NoTarget => "no target date set".to_owned(),
            Status::OnTrack => "on track".to_owned(),
            Status::Behind { weeks } => format!("behind by {weeks} week{}", if weeks == 1 { "" } else { "s" }),
        }
    }
}

/// The day `open` findings are done at `per_week`, counting from `today`.
fn done_on(today: NaiveDate, open: i64, per_week: f64) -> Option<NaiveDate> {
    if per_week <= 0.0 {
        return None;
    }
    let days = (open as f64 / per_week * 7.0).ceil();
    // Beyond chrono's range is as good as never.
    if days > 365.0 * 1000.0 {
        return None;
    }
    today.checked_add_signed(Duration::days(days as i64))
}

/// Projects `open` findings at the pace of `weekly_done` (complete weeks, oldest first; only
/// the last [`WINDOW`] count), from `today`, against `target`.
pub fn project(today: NaiveDate, open: i64, weekly_done: &[i64], target: Option<NaiveDate>) -> Projection {
    let window: Vec<i64> = weekly_done[weekly_done.len().saturating_sub(WINDOW)..].iter().map(|&d| d.max(0)).collect();
    let mean = if window.is_empty() { 0.0 } else { window.iter().sum::<i64>() as f64 / window.len() as f64 };
    let best_rate = window.iter().copied().max().unwrap_or(0) as f64;
    let worst_rate = window.iter().copied().min().unwrap_or(0) as f64;
    let expected = done_on(today, open, mean);
    let status = if open <= 0 {
        Status::Done
    } else if expected.is_none() {
        Status::Stalled
    } else {
        match (expected, target) {
            (_, None) => Status::NoTarget,
            (Some(expected), Some(target)) if expected <= target => Status::OnTrack,
            (Some(expected), Some(target)) => Status::Behind { weeks: ((expected - target).num_days() + 6) / 7 },
            (None, Some(_)) => Status::Stalled,
        }
    };
    let (expected, best, worst) = if open <= 0 {
        (Some(today), Some(today), Some(today))
    } else {
        (expected, done_on(today, open, best_rate), done_on(today, open, worst_rate))
    };
    Projection { open, weekly_done: window, mean_per_week: mean, expected, best, worst, target, status }
}

/// Work done (fixed or triaged away) in each complete ISO week of `series` before `today`'s
/// week, oldest first: the pace a projection uses.
pub fn weekly_done(series: &[crate::views::BurndownPoint], today: NaiveDate) -> Vec<i64> {
    let this_monday = today - Duration::days(today.weekday().num_days_from_monday() as i64);
    let done = |p: &crate::views::BurndownPoint| p.fixed + p.triaged;
    // The value at the end of each week (its last day in the series).
    let mut ends: Vec<(NaiveDate, i64)> = Vec::new();
    for p in series.iter().filter(|p| p.day < this_monday) {
        let monday = p.day - Duration::days(p.day.weekday().num_days_from_monday() as i64);
        match ends.last_mut() {
            Some((week, value)) if *week == monday => *value = done(p),
            _ => ends.push((monday, done(p))),
        }
    }
    // Work before the series' first day is not this window's.
    let mut previous = series.first().map_or(0, done);
    ends.into_iter()
        .map(|(_, value)| {
            let week = value - previous;
            previous = value;
            week
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn a_steady_pace_projects_a_date_and_its_range() {
        let p = project(day("2026-12-01"), 100, &[3, 10, 10, 10, 10], Some(day("2027-03-01")));
        assert_eq!(p.weekly_done, [10, 10, 10, 10], "only the last four weeks count");
        assert_eq!(p.mean_per_week, 10.0);
        assert_eq!(p.expected, Some(day("2027-02-09")), "ten weeks");
        assert_eq!((p.best, p.worst), (p.expected, p.expected), "no spread at a steady pace");
        assert_eq!(p.status, Status::OnTrack);
        assert_eq!(p.verdict(), "on track");
    }

    #[test]
    fn a_slower_pace_is_behind_by_whole_weeks() {
        let p = project(day("2026-12-01"), 100, &[2, 8, 5, 5], Some(day("2027-03-01")));
        assert_eq!(p.mean_per_week, 5.0);
        assert_eq!(p.expected, Some(day("2027-04-20")), "twenty weeks");
        assert_eq!(p.best, Some(day("2027-02-27")), "at 8 a week: 12.5 weeks");
        assert_eq!(p.worst, Some(day("2027-11-16")), "at 2 a week: fifty weeks");
        assert_eq!(p.status, Status::Behind { weeks: 8 }, "50 days late, rounded up to weeks");
        assert_eq!(p.verdict(), "behind by 8 weeks");
    }

    #[test]
    fn a_stalled_campaign_gets_no_date() {
        let p = project(day("2026-12-01"), 1187, &[1, 0, 0, 0, 0], Some(day("2027-03-01")));
        assert_eq!((p.expected, p.best, p.worst), (None, None, None));
        assert_eq!(p.status, Status::Stalled);
        assert_eq!(p.verdict(), "stalled: nothing fixed in the last 4 weeks");
        // One good week in four: a date, but the worst case is never.
        let p = project(day("2026-12-01"), 10, &[0, 0, 0, 8], None);
        assert_eq!(p.expected, Some(day("2027-01-05")), "2 a week on average: five weeks");
        assert_eq!(p.worst, None);
        assert_eq!(p.status, Status::NoTarget);
    }

    #[test]
    fn zero_rate_and_no_history_and_nothing_left() {
        assert_eq!(project(day("2026-12-01"), 5, &[], None).status, Status::Stalled);
        assert_eq!(
            project(day("2026-12-01"), 5, &[-3, 0], None).weekly_done,
            [0, 0],
            "reopened work is no negative pace"
        );
        let done = project(day("2026-12-01"), 0, &[0, 0], Some(day("2026-06-01")));
        assert_eq!(done.status, Status::Done);
        assert_eq!(done.expected, Some(day("2026-12-01")));
        // A pace so slow the date leaves the calendar: as good as never.
        assert_eq!(project(day("2026-12-01"), i64::MAX, &[1], None).expected, None);
    }

    fn point(day: &str, open: i64, fixed: i64, triaged: i64) -> crate::views::BurndownPoint {
        crate::views::BurndownPoint { day: day.parse().unwrap(), open, fixed, triaged }
    }

    #[test]
    fn the_pace_is_work_done_per_complete_week() {
        // Mon 2026-06-01 … : 2 fixed in week 23, 1 triaged and 3 fixed in week 24, the current
        // week (25) not counted.
        let series = [
            point("2026-06-01", 10, 0, 0),
            point("2026-06-03", 8, 2, 0),
            point("2026-06-09", 7, 2, 1),
            point("2026-06-12", 4, 5, 1),
            point("2026-06-15", 1, 8, 1),
        ];
        assert_eq!(weekly_done(&series, "2026-06-16".parse().unwrap()), [2, 4]);
        assert_eq!(weekly_done(&series[..1], "2026-06-16".parse().unwrap()), [0]);
        assert!(weekly_done(&[], "2026-06-16".parse().unwrap()).is_empty());
    }
}
