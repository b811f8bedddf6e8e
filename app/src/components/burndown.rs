//! The burndown chart: open findings per day, as an inline SVG drawn on the server (it reads
//! without JavaScript), with a table equivalent for screen readers.

use leptos::prelude::*;

use db::views::BurndownPoint;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 180.0;
const PAD: f64 = 28.0;

/// The polyline's points for `series`, scaled to the plot area.
pub fn polyline(series: &[BurndownPoint]) -> String {
    let max = series.iter().map(|p| p.open).max().unwrap_or(0).max(1) as f64;
    let steps = (series.len().max(2) - 1) as f64;
    series
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let x = PAD + (WIDTH - 2.0 * PAD) * i as f64 / steps;
            let y = HEIGHT - PAD - (HEIGHT - 2.0 * PAD) * p.open as f64 / max;
            format!("{x:.1},{y:.1}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[component]
pub fn Burndown(series: Vec<BurndownPoint>) -> impl IntoView {
    let max = series.iter().map(|p| p.open).max().unwrap_or(0);
    let first = series.first().map(|p| p.day.to_string()).unwrap_or_default();
    let last = series.last().map(|p| p.day.to_string()).unwrap_or_default();
    let now = series.last().map_or(0, |p| p.open);
    let summary =
        format!("Open findings from {first} to {last}: {} then, {now} now.", series.first().map_or(0, |p| p.open));
    let points = polyline(&series);
    view! {
        <figure data-testid="burndown">
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") class="h-auto w-full text-indigo-700 dark:text-indigo-300" role="img" aria-label=summary.clone()>
                <line x1=PAD y1=HEIGHT - PAD x2=WIDTH - PAD y2=HEIGHT - PAD stroke="currentColor" stroke-opacity="0.3" />
                <line x1=PAD y1=PAD x2=PAD y2=HEIGHT - PAD stroke="currentColor" stroke-opacity="0.3" />
                <text x=PAD - 4.0 y=PAD + 4.0 text-anchor="end" font-size="10" fill="currentColor">{max.to_string()}</text>
                <text x=PAD - 4.0 y=HEIGHT - PAD text-anchor="end" font-size="10" fill="currentColor">"0"</text>
                <text x=PAD y=HEIGHT - 8.0 font-size="10" fill="currentColor">{first.clone()}</text>
                <text x=WIDTH - PAD y=HEIGHT - 8.0 text-anchor="end" font-size="10" fill="currentColor">{last.clone()}</text>
                <polyline points=points fill="none" stroke="currentColor" stroke-width="2" />
            </svg>
            <figcaption class="text-sm text-slate-600 dark:text-slate-300">{summary}</figcaption>
        </figure>
    }
}
