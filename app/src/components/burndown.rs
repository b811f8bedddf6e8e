//! The burndown chart, drawn on the server as inline SVG (it reads without JavaScript): open,
//! fixed and triaged-away findings per day as stacked areas, the scope line (everything found
//! so far) on top, week ticks, the target date and the projection from today to the expected
//! date with its best/worst range. Each day's values are in a `<title>` (hover); the
//! figure's caption says the same in words. A small [`Sparkline`] serves lists.

use chrono::{Datelike, NaiveDate};
use leptos::prelude::*;

use db::projection::Projection;
use db::views::BurndownPoint;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 30.0;

/// Maps days and counts to the plot area: counts from `min` (0, or a round floor below the
/// data when the chart is zoomed) to `max`.
#[derive(Clone, Copy, Debug)]
pub struct Scale {
    first: NaiveDate,
    days: f64,
    min: f64,
    max: f64,
}

impl Scale {
    /// From `first` to `last` (at least a day apart), counts from 0 up to `max`.
    pub fn new(first: NaiveDate, last: NaiveDate, max: i64) -> Self {
        let days = ((last - first).num_days().max(1)) as f64;
        // Headroom above the highest point, and a round top value.
        let max = nice_ceiling((max.max(1) as f64 * 1.05).ceil() as i64) as f64;
        Scale { first, days, min: 0.0, max }
    }

    /// Like [`Scale::new`], but when every count lies between `low` and `high` and that band
    /// is thin next to its distance from zero (a campaign whose open findings moved from
    /// 1,336 to 1,349: from zero, a flat block), the axis runs between round values just
    /// around the band instead, so that the change shows. The axis labels say where it starts.
    pub fn zoomed(first: NaiveDate, last: NaiveDate, low: i64, high: i64) -> Self {
        let whole = Scale::new(first, last, high);
        // A flat line is shown as one, in a band of at least 1 % of its height.
        let span = (high - low).max(high / 100).max(1);
        if low < 3 * span {
            return whole;
        }
        let step = nice_ceiling(span);
        let floor = (low - step / 2).div_euclid(step) * step;
        let ceiling = ((high + step / 4 + step - 1).div_euclid(step) * step).max(floor + step);
        Scale { min: floor.max(0) as f64, max: ceiling as f64, ..whole }
    }

    pub fn x(&self, day: NaiveDate) -> f64 {
        LEFT + (WIDTH - LEFT - RIGHT) * (day - self.first).num_days() as f64 / self.days
    }

    /// Counts below the axis' start sit on it (the open area's base when zoomed).
    pub fn y(&self, count: i64) -> f64 {
        let count = (count as f64).max(self.min);
        HEIGHT - BOTTOM - (HEIGHT - TOP - BOTTOM) * (count - self.min) / (self.max - self.min)
    }

    pub fn top(&self) -> i64 {
        self.max as i64
    }

    /// Where the axis starts: 0 unless zoomed.
    pub fn bottom(&self) -> i64 {
        self.min as i64
    }
}

/// The smallest 1, 2 or 5 times a power of ten at or above `n`.
pub fn nice_ceiling(n: i64) -> i64 {
    let mut step = 1;
    loop {
        for m in [1, 2, 5] {
            if m * step >= n {
                return m * step;
            }
        }
        step *= 10;
    }
}

/// The closed polygon between the `lower` and `upper` stack lines of `series`.
pub fn band(
    series: &[BurndownPoint],
    scale: &Scale,
    lower: fn(&BurndownPoint) -> i64,
    upper: fn(&BurndownPoint) -> i64,
) -> String {
    let top = series.iter().map(|p| format!("{:.1},{:.1}", scale.x(p.day), scale.y(upper(p))));
    let bottom = series.iter().rev().map(|p| format!("{:.1},{:.1}", scale.x(p.day), scale.y(lower(p))));
    top.chain(bottom).collect::<Vec<_>>().join(" ")
}

/// The Mondays from `first` to `last`, for week ticks.
pub fn mondays(first: NaiveDate, last: NaiveDate) -> Vec<NaiveDate> {
    let offset = (7 - first.weekday().num_days_from_monday()) % 7;
    let start = first + chrono::Duration::days(offset as i64);
    start.iter_weeks().take_while(|d| *d <= last).collect()
}

fn short(day: NaiveDate) -> String {
    day.format("%b %-d").to_string()
}

#[component]
pub fn Burndown(series: Vec<BurndownPoint>, #[prop(optional)] projection: Option<Projection>) -> impl IntoView {
    let (Some(first), Some(last)) = (series.first().cloned(), series.last().cloned()) else {
        return view! { <p class="mt-2 text-sm text-slate-600 dark:text-slate-300">"No scans yet."</p> }.into_any();
    };
    // The axis runs to the target date or the expected date when they are near enough to show.
    let horizon = |d: Option<NaiveDate>| d.filter(|d| *d > last.day && (*d - last.day).num_days() <= 400);
    let end = [
        Some(last.day),
        horizon(projection.as_ref().and_then(|p| p.target)),
        horizon(projection.as_ref().and_then(|p| p.expected)),
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(last.day);
    let max_scope = series.iter().map(BurndownPoint::scope).max().unwrap_or(0);
    let min_open = series.iter().map(|p| p.open).min().unwrap_or(0);
    // A projection runs down to zero: then the axis does too.
    let projected =
        projection.as_ref().is_some_and(|p| [p.expected, p.best, p.worst].into_iter().any(|d| horizon(d).is_some()));
    let scale = if projected {
        Scale::new(first.day, end, max_scope)
    } else {
        Scale::zoomed(first.day, end, min_open, max_scope)
    };
    let zoomed = scale.bottom() > 0;
    let open_area = band(&series, &scale, |_| 0, |p| p.open);
    let fixed_area = band(&series, &scale, |p| p.open, |p| p.open + p.fixed);
    let triaged_area = band(&series, &scale, |p| p.open + p.fixed, BurndownPoint::scope);
    let scope_line: String =
        series.iter().map(|p| format!("{:.1},{:.1}", scale.x(p.day), scale.y(p.scope()))).collect::<Vec<_>>().join(" ");
    let weeks = mondays(first.day, end);
    let label_every = (weeks.len() / 8).max(1);
    let base = HEIGHT - BOTTOM;
    let summary = format!(
        "From {} to {}: {} open then, {} open now; {} fixed and {} triaged away; {} found in all.",
        first.day,
        last.day,
        first.open,
        last.open,
        last.fixed,
        last.triaged,
        last.scope()
    );
    let column = (WIDTH - LEFT - RIGHT) / scale.days;
    let projection_view = projection.clone().map(|p| {
        let from = (scale.x(last.day), scale.y(last.open));
        let to = |d: Option<NaiveDate>| horizon(d).map(|d| (scale.x(d), base));
        let line = |end: Option<(f64, f64)>, dash: &'static str, width: &'static str| {
            end.map(|(x, y)| view! { <line x1=from.0 y1=from.1 x2=x y2=y stroke="currentColor" stroke-dasharray=dash stroke-width=width /> })
        };
        let target = horizon(p.target).or(p.target.filter(|t| *t >= first.day && *t <= last.day)).map(|t| {
            let x = scale.x(t);
            view! {
                <g class="text-rose-600 dark:text-rose-400" data-testid="target-line">
                    <line x1=x y1=TOP x2=x y2=base stroke="currentColor" stroke-dasharray="2 3" />
                    <text x=x - 3.0 y=TOP + 10.0 text-anchor="end" font-size="10" fill="currentColor">{format!("target {}", short(t))}</text>
                </g>
            }
        });
        view! {
            <g class="text-amber-600 dark:text-amber-400" data-testid="projection-line">
                <title>{format!("Projection: {}", p.verdict())}</title>
                {line(to(p.best), "4 4", "1")}
                {line(to(p.worst), "4 4", "1")}
                {line(to(p.expected), "6 3", "2")}
            </g>
            {target}
        }
    });
    view! {
        <figure data-testid="burndown">
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") class="h-auto w-full text-slate-700 dark:text-slate-200" role="img" aria-label=summary.clone()>
                <polygon points=open_area class="fill-indigo-500/70 dark:fill-indigo-400/60" data-series="open" />
                <polygon points=fixed_area class="fill-emerald-500/60 dark:fill-emerald-400/50" data-series="fixed" />
                <polygon points=triaged_area class="fill-slate-400/60 dark:fill-slate-500/60" data-series="triaged" />
                <polyline points=scope_line fill="none" stroke="currentColor" stroke-width="1.5" data-series="scope" />
                <line x1=LEFT y1=base x2=WIDTH - RIGHT y2=base stroke="currentColor" stroke-opacity="0.4" />
                <line x1=LEFT y1=TOP x2=LEFT y2=base stroke="currentColor" stroke-opacity="0.4" />
                <text x=LEFT - 4.0 y=TOP + 8.0 text-anchor="end" font-size="10" fill="currentColor">{db::progress::thousands(scale.top())}</text>
                <text x=LEFT - 4.0 y=base text-anchor="end" font-size="10" fill="currentColor" data-testid="axis-bottom">{db::progress::thousands(scale.bottom())}</text>
                {weeks.iter().enumerate().map(|(i, monday)| {
                    let x = scale.x(*monday);
                    let label = (i % label_every == 0).then(|| view! {
                        <text x=x y=HEIGHT - 12.0 text-anchor="middle" font-size="10" fill="currentColor">{short(*monday)}</text>
                    });
                    view! { <line x1=x y1=base x2=x y2=base + 4.0 stroke="currentColor" stroke-opacity="0.5" /> {label} }
                }).collect_view()}
                {projection_view}
                <g fill="transparent" data-testid="burndown-points">
                    {series.iter().map(|p| view! {
                        <rect x=scale.x(p.day) - column / 2.0 y=TOP width=column.max(1.0) height=base - TOP>
                            <title>{format!("{}: {} open, {} fixed, {} triaged away ({} found)", p.day, p.open, p.fixed, p.triaged, p.scope())}</title>
                        </rect>
                    }).collect_view()}
                </g>
            </svg>
            <figcaption class="text-sm text-slate-600 dark:text-slate-300">
                <span class="mr-3 inline-flex items-center gap-1"><span class="inline-block h-2 w-3 bg-indigo-500/70"></span>"open"</span>
                <span class="mr-3 inline-flex items-center gap-1"><span class="inline-block h-2 w-3 bg-emerald-500/60"></span>"fixed"</span>
                <span class="mr-3 inline-flex items-center gap-1"><span class="inline-block h-2 w-3 bg-slate-400/60"></span>"triaged away"</span>
                <span class="mr-3">"— found (scope)"</span>
                {projection.as_ref().is_some_and(|p| p.expected.is_some()).then_some(view! { <span class="mr-3 text-amber-700 dark:text-amber-400">"- - projection"</span> })}
                <span class="block">{summary}</span>
                {zoomed.then(|| view! {
                    <span class="block" data-testid="axis-note">
                        {format!("The axis runs from {} to {}, not from zero, so that the change shows.", db::progress::thousands(scale.bottom()), db::progress::thousands(scale.top()))}
                    </span>
                })}
            </figcaption>
        </figure>
    }
    .into_any()
}

/// A small line of open findings per day, for a row of a list.
#[component]
pub fn Sparkline(series: Vec<i64>, label: String) -> impl IntoView {
    let (w, h) = (96.0, 20.0);
    let max = series.iter().copied().max().unwrap_or(0).max(1) as f64;
    let steps = (series.len().max(2) - 1) as f64;
    let points: String = series
        .iter()
        .enumerate()
        .map(|(i, v)| format!("{:.1},{:.1}", w * i as f64 / steps, h - 1.0 - (h - 2.0) * *v as f64 / max))
        .collect::<Vec<_>>()
        .join(" ");
    let title = format!(
        "{label}: {} open then, {} now",
        series.first().copied().unwrap_or(0),
        series.last().copied().unwrap_or(0)
    );
    view! {
        <svg viewBox=format!("0 0 {w} {h}") class="h-5 w-24 text-indigo-600 dark:text-indigo-300" role="img" aria-label=title.clone() data-testid="sparkline">
            <title>{title.clone()}</title>
            <polyline points=points fill="none" stroke="currentColor" stroke-width="1.5" />
        </svg>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(day: &str, open: i64, fixed: i64, triaged: i64) -> BurndownPoint {
        BurndownPoint { day: day.parse().unwrap(), open, fixed, triaged }
    }

    #[test]
    fn nice_ceilings() {
        assert_eq!([1, 3, 7, 11, 1190, 1_500_001].map(nice_ceiling), [1, 5, 10, 20, 2000, 2_000_000]);
    }

    #[test]
    fn the_stack_fills_from_zero_to_the_scope() {
        let series = [point("2026-06-01", 10, 0, 0), point("2026-06-02", 6, 3, 1)];
        let scale = Scale::new(series[0].day, series[1].day, 10);
        assert_eq!((scale.x(series[0].day), scale.x(series[1].day)), (LEFT, WIDTH - RIGHT));
        assert_eq!(scale.y(0), HEIGHT - BOTTOM);
        assert_eq!(scale.top(), 20, "10 with headroom, rounded");
        let open = band(&series, &scale, |_| 0, |p| p.open);
        assert_eq!(open.split(' ').count(), 4, "two points along the top, two back along zero");
        assert!(open.ends_with(&format!("{:.1},{:.1}", LEFT, HEIGHT - BOTTOM)));
    }

    #[test]
    fn a_thin_band_far_from_zero_is_zoomed_to_round_values_around_it() {
        let (first, last) = ("2026-06-01".parse().unwrap(), "2026-12-07".parse().unwrap());
        // The demo: 1,336 open at first, 1,353 found at most.
        let scale = Scale::zoomed(first, last, 1336, 1353);
        assert_eq!((scale.bottom(), scale.top()), (1320, 1360), "steps of 20 around the band of 17");
        assert_eq!(scale.y(1320), HEIGHT - BOTTOM);
        assert_eq!(scale.y(0), HEIGHT - BOTTOM, "below the axis' start sits on it");
        assert!(scale.y(1349) < scale.y(1336) - 20.0, "13 more open findings rise visibly");
        // Data reaching towards zero keeps the axis at zero.
        let whole = Scale::zoomed(first, last, 120, 1353);
        assert_eq!((whole.bottom(), whole.top()), (0, 2000));
        // A flat series is not blown up to fill the chart from nothing.
        let flat = Scale::zoomed(first, last, 500, 500);
        assert!(flat.bottom() < 500 && flat.top() > 500);
    }

    #[test]
    fn week_ticks_fall_on_mondays() {
        let ticks = mondays("2026-06-03".parse().unwrap(), "2026-06-29".parse().unwrap());
        let days: Vec<String> = ticks.iter().map(|d| d.to_string()).collect();
        assert_eq!(days, ["2026-06-08", "2026-06-15", "2026-06-22", "2026-06-29"]);
    }
}
