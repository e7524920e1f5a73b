//! The page's charts, drawn by plotters as SVG into strings that the page
//! holds inline: nothing to load, and the browser draws the text.
//!
//! Charts draw no background, and their text and axes in black, which the
//! page's style turns to its text colour, so one drawing serves the light
//! and the dark scheme. Each chart is an image with a text alternative
//! (`role="img"`, `aria-label`, a `<title>`); the table beside it has the
//! same figures.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::model::{Page, Percentiles, TimeRow};

/// The colours of series, readable on light and dark backgrounds.
const PALETTE: [RGBColor; 5] = [
    RGBColor(0x3b, 0x82, 0xf6),
    RGBColor(0xef, 0x44, 0x44),
    RGBColor(0xf5, 0x9e, 0x0b),
    RGBColor(0x10, 0xb9, 0x81),
    RGBColor(0x8b, 0x5c, 0xf6),
];

const WIDTH: u32 = 640;
const HEIGHT: u32 = 260;
/// Label text, in the drawing's pixels (the drawing is scaled to its box).
const LABEL_SIZE: u32 = 14;

/// The charts of a page, by the name the template uses.
#[derive(Debug, Default, serde::Serialize)]
pub struct Charts {
    /// Requests, 4xx and 5xx over time.
    pub requests: Option<String>,
    /// Bytes over time.
    pub bytes: Option<String>,
    /// The hit ratio over time.
    pub hit_ratio: Option<String>,
    /// Requests by weekday and hour.
    pub week_hours: Option<String>,
    /// Requests by status code.
    pub status_codes: Option<String>,
    /// Requests by result type.
    pub result_types: Option<String>,
    /// `time-taken` percentiles over time.
    pub time_taken: Option<String>,
    /// `time-to-first-byte` percentiles over time.
    pub time_to_first_byte: Option<String>,
    /// Origin latencies over time.
    pub origin: Option<String>,
    /// The most requested objects.
    pub objects: Option<String>,
    /// Referrer domains.
    pub referrers: Option<String>,
    /// Edge locations.
    pub edge_locations: Option<String>,
}

impl Charts {
    /// Every chart of `page` that has something to show.
    pub fn of(page: &Page) -> Charts {
        let rows = &page.over_time.buckets;
        let resolution = &page.over_time.resolution;
        let series =
            |name: &str, f: &dyn Fn(&TimeRow) -> Option<f64>| -> (String, Vec<Option<f64>>) {
                (name.to_owned(), rows.iter().map(f).collect())
            };
        let latency = |key: &str, label: &str| {
            let of = |row: &TimeRow, pick: fn(&Percentiles) -> f64| {
                row.latency.get(key).copied().flatten().map(|p| pick(&p))
            };
            let lines = vec![
                series("p50", &|r| of(r, |p| p.p50)),
                series("p90", &|r| of(r, |p| p.p90)),
                series("p99", &|r| of(r, |p| p.p99)),
            ];
            time_chart(
                &format!("{label}: p50, p90 and p99 in milliseconds per {resolution}"),
                rows,
                &lines,
                &|ms| format!("{ms:.0} ms"),
            )
        };
        let origin = {
            let of =
                |row: &TimeRow, key: &str| row.latency.get(key).copied().flatten().map(|p| p.p90);
            let lines = vec![
                series("origin first byte p90", &|r| of(r, "origin_fbl")),
                series("origin last byte p90", &|r| of(r, "origin_lbl")),
            ];
            time_chart(
                &format!("Origin latencies: p90 in milliseconds per {resolution}"),
                rows,
                &lines,
                &|ms| format!("{ms:.0} ms"),
            )
        };
        let bars = |title: &str, rows: Vec<(String, u64)>| bar_chart(title, &rows);
        Charts {
            requests: time_chart(
                &format!("Requests, 4xx and 5xx responses per {resolution}"),
                rows,
                &[
                    series("requests", &|r| Some(r.requests as f64)),
                    series("4xx", &|r| Some(r.client_errors as f64)),
                    series("5xx", &|r| Some(r.server_errors as f64)),
                ],
                &|n| short_number(n),
            ),
            bytes: time_chart(
                &format!("Bytes sent per {resolution}"),
                rows,
                &[series("bytes sent", &|r| Some(r.bytes_sent as f64))],
                &|n| short_bytes(n),
            ),
            hit_ratio: time_chart(
                &format!("Cache hit ratio per {resolution}"),
                rows,
                &[series("hit ratio", &|r| r.hit_ratio.map(|h| h * 100.0))],
                &|p| format!("{p:.0}%"),
            ),
            week_hours: week_chart(&page.week_hours),
            status_codes: bars(
                "Requests by status code",
                page.status_codes
                    .iter()
                    .map(|r| (r.value.clone(), r.requests))
                    .collect(),
            ),
            result_types: bars(
                "Requests by result type",
                page.result_types
                    .rows
                    .iter()
                    .map(|r| (r.value.clone(), r.requests))
                    .collect(),
            ),
            time_taken: latency("time_taken", "time-taken"),
            time_to_first_byte: latency("time_to_first_byte", "time-to-first-byte"),
            origin,
            objects: bars(
                "The ten most requested objects",
                page.objects
                    .rows
                    .iter()
                    .take(10)
                    .map(|r| (r.value.clone(), r.requests))
                    .collect(),
            ),
            referrers: bars(
                "The ten most frequent referrer domains",
                page.referrer_domains
                    .rows
                    .iter()
                    .take(10)
                    .map(|r| (r.value.clone(), r.requests))
                    .collect(),
            ),
            edge_locations: bars(
                "The ten busiest edge locations",
                page.edge_locations
                    .rows
                    .iter()
                    .take(10)
                    .map(|r| (r.value.clone(), r.requests))
                    .collect(),
            ),
        }
    }
}

/// Draws into an SVG string of `width` × `height`, then marks it as an
/// image described by `title`. `None` when drawing failed (it draws into
/// memory, so only on a bug) or there was nothing to draw.
fn svg(
    title: &str,
    (width, height): (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<bool, String>,
) -> Option<String> {
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (width, height)).into_drawing_area();
        if !draw(&root).ok()? {
            return None;
        }
        root.present().ok()?;
    }
    let escaped = escape(title);
    let opening = format!(
        "<svg role=\"img\" aria-label=\"{escaped}\" class=\"chart\" preserveAspectRatio=\"xMidYMid meet\" "
    );
    let text = text.replacen("<svg ", &opening, 1);
    // The title element first, for the tooltips and readers that use it.
    let end = text.find('>')? + 1;
    Some(format!(
        "{}<title>{escaped}</title>{}",
        &text[..end],
        &text[end..]
    ))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Lines over time, one per series; gaps where a series has no value.
fn time_chart(
    title: &str,
    rows: &[TimeRow],
    lines: &[(String, Vec<Option<f64>>)],
    format_y: &dyn Fn(f64) -> String,
) -> Option<String> {
    let max = lines
        .iter()
        .flat_map(|(_, values)| values.iter().flatten())
        .fold(0f64, |max, v| max.max(*v));
    if rows.is_empty() || lines.iter().all(|(_, v)| v.iter().all(Option::is_none)) {
        return None;
    }
    let first = rows.first()?.unix;
    let last = rows.last()?.unix;
    // One bucket still gets a visible width.
    let (x0, x1) = if last > first {
        (first, last)
    } else {
        (first - 1800, first + 1800)
    };
    let y1 = if max > 0.0 { max * 1.1 } else { 1.0 };
    let span = x1 - x0;
    let format_x = move |x: &i64| {
        let Ok(time) = time::OffsetDateTime::from_unix_timestamp(*x) else {
            return String::new();
        };
        if span <= 2 * 86_400 {
            format!(
                "{:02}-{:02} {:02}:00",
                u8::from(time.month()),
                time.day(),
                time.hour()
            )
        } else {
            format!(
                "{}-{:02}-{:02}",
                time.year(),
                u8::from(time.month()),
                time.day()
            )
        }
    };
    svg(title, (WIDTH, HEIGHT), |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .x_label_area_size(28)
            .y_label_area_size(70)
            .build_cartesian_2d(x0..x1, 0f64..y1)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_labels(5)
            .y_labels(5)
            .x_label_formatter(&format_x)
            .y_label_formatter(&|y| format_y(*y))
            .label_style(("sans-serif", LABEL_SIZE))
            .light_line_style(TRANSPARENT)
            .disable_x_mesh()
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, (name, values)) in lines.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            // Each run of buckets with values is one line.
            let mut runs: Vec<Vec<(i64, f64)>> = vec![Vec::new()];
            for (row, value) in rows.iter().zip(values) {
                match value {
                    Some(v) => runs.last_mut().expect("one run").push((row.unix, *v)),
                    None if !runs.last().expect("one run").is_empty() => runs.push(Vec::new()),
                    None => {}
                }
            }
            let style = color.stroke_width(2);
            let mut first_run = true;
            for run in runs.into_iter().filter(|run| !run.is_empty()) {
                let series = match run.len() {
                    1 => chart.draw_series(run.iter().map(|p| Circle::new(*p, 3, style.filled()))),
                    _ => chart.draw_series(LineSeries::new(run, style)),
                }
                .map_err(|e| e.to_string())?;
                if std::mem::take(&mut first_run) {
                    series.label(name.as_str()).legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(3))
                    });
                }
            }
        }
        if lines.len() > 1 {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .label_font(("sans-serif", LABEL_SIZE))
                .border_style(TRANSPARENT)
                .background_style(TRANSPARENT)
                .draw()
                .map_err(|e| e.to_string())?;
        }
        Ok(true)
    })
}

/// Horizontal bars, largest first, labels at the left.
fn bar_chart(title: &str, rows: &[(String, u64)]) -> Option<String> {
    if rows.is_empty() {
        return None;
    }
    let n = rows.len() as i32;
    let max = rows.iter().map(|(_, v)| *v).max().unwrap_or(1).max(1) as f64;
    let height = (40 + 24 * rows.len() as u32).max(120);
    let label = |i: i32| -> String {
        let Some((label, _)) = usize::try_from(n - 1 - i).ok().and_then(|i| rows.get(i)) else {
            return String::new();
        };
        match label.chars().count() > 26 {
            true => format!("{}…", label.chars().take(25).collect::<String>()),
            false => label.clone(),
        }
    };
    svg(title, (WIDTH, height), |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(10)
            .x_label_area_size(24)
            .y_label_area_size(220)
            .build_cartesian_2d(0f64..max * 1.05, (0..n).into_segmented())
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(rows.len())
            .y_label_formatter(&|segment| match segment {
                SegmentValue::CenterOf(i) => label(*i),
                _ => String::new(),
            })
            .x_labels(5)
            .x_label_formatter(&|x| short_number(*x))
            .label_style(("sans-serif", LABEL_SIZE))
            .light_line_style(TRANSPARENT)
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .draw_series(rows.iter().enumerate().map(|(i, (_, value))| {
                let i = n - 1 - i as i32;
                Rectangle::new(
                    [
                        (0f64, SegmentValue::Exact(i)),
                        (*value as f64, SegmentValue::Exact(i + 1)),
                    ],
                    PALETTE[0].filled(),
                )
            }))
            .map_err(|e| e.to_string())?;
        Ok(true)
    })
}

/// A week of hours: a cell per weekday and hour, darker for more
/// requests.
fn week_chart(grid: &[Vec<u64>]) -> Option<String> {
    let max = grid.iter().flatten().copied().max().unwrap_or(0);
    if max == 0 {
        return None;
    }
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    svg(
        "Requests by weekday and hour of day (UTC); darker is more",
        (WIDTH, 230),
        |root| {
            let mut chart = ChartBuilder::on(root)
                .margin(10)
                .x_label_area_size(24)
                .y_label_area_size(50)
                .build_cartesian_2d(0i32..24, 0i32..7)
                .map_err(|e| e.to_string())?;
            chart
                .configure_mesh()
                .disable_mesh()
                .x_labels(12)
                .y_labels(7)
                .label_style(("sans-serif", LABEL_SIZE))
                .x_label_formatter(&|h| format!("{h:02}"))
                .y_label_formatter(&|d| {
                    usize::try_from(6 - *d)
                        .ok()
                        .and_then(|d| DAYS.get(d))
                        .map_or(String::new(), |d| (*d).to_owned())
                })
                .draw()
                .map_err(|e| e.to_string())?;
            chart
                .draw_series(grid.iter().enumerate().flat_map(|(day, hours)| {
                    hours.iter().enumerate().map(move |(hour, n)| {
                        let y = 6 - day as i32;
                        let x = hour as i32;
                        let shade = 0.08 + 0.92 * (*n as f64 / max as f64);
                        Rectangle::new([(x, y), (x + 1, y + 1)], PALETTE[0].mix(shade).filled())
                    })
                }))
                .map_err(|e| e.to_string())?;
            Ok(true)
        },
    )
}

/// `1234567` as `1.2M`.
pub fn short_number(n: f64) -> String {
    match n.abs() {
        n if n >= 1e9 => format!("{:.1}G", n / 1e9),
        n if n >= 1e6 => format!("{:.1}M", n / 1e6),
        n if n >= 1e3 => format!("{:.1}k", n / 1e3),
        _ => format!("{n:.0}"),
    }
}

/// Bytes in binary units.
pub fn short_bytes(n: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = n;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    match unit {
        0 => format!("{value:.0} B"),
        _ => format!("{value:.1} {}", UNITS[unit]),
    }
}
