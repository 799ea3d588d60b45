//! `--svg`: a bar chart of a run, written directly as SVG. One panel per case, one bar
//! per method (ops/s, linear axis from zero), each bar labelled with its ops/s and its
//! ratio to fixrec, a legend, and a title saying what was measured where.

use super::report::{Measurement, si};
use std::fmt::Write as _;

const WIDTH: f64 = 980.0;
const LEFT: f64 = 120.0;
const BARS: f64 = 560.0;
const ROW: f64 = 17.0;
const PANEL_HEAD: f64 = 30.0;
const PANEL_FOOT: f64 = 26.0;

fn color(method: &str) -> &'static str {
    match method {
        "fixrec" => "#d62728",
        "buffered" => "#1f77b4",
        "positional" => "#2ca02c",
        "sqlite" => "#9467bd",
        "lmdb" => "#ff7f0e",
        "raw-mmap" => "#7f7f7f",
        _ => "#bcbcbc",
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A tick step of 1, 2 or 5 times a power of ten, giving about 5 ticks up to `max`.
fn tick_step(max: f64) -> f64 {
    let raw = max / 5.0;
    let pow = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * pow)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * pow)
}

/// The chart. `cases` lists (id, description) in order; `subtitle` says how the run was
/// made (records, repeats, machine).
pub fn chart(results: &[Measurement], cases: &[(String, String)], subtitle: &str) -> String {
    let methods: Vec<&str> = {
        let mut seen: Vec<&str> = Vec::new();
        for m in results {
            if !seen.contains(&m.method.as_str()) {
                seen.push(&m.method);
            }
        }
        seen
    };
    let panels: Vec<(&String, &String, Vec<&Measurement>)> = cases
        .iter()
        .map(|(id, d)| {
            (
                id,
                d,
                results.iter().filter(|m| &m.workload == id).collect(),
            )
        })
        .filter(|(_, _, rows): &(_, _, Vec<_>)| !rows.is_empty())
        .collect();
    let top = 92.0;
    let height = top
        + panels
            .iter()
            .map(|(_, _, rows)| PANEL_HEAD + ROW * rows.len() as f64 + PANEL_FOOT)
            .sum::<f64>()
        + 30.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="Helvetica, Arial, sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="24" font-size="18" font-weight="bold" text-anchor="middle">fixrec bench: operations per second by workload (higher is better)</text>"#,
        WIDTH / 2.0
    );
    let _ = writeln!(
        s,
        r##"<text x="{}" y="44" text-anchor="middle" fill="#444">{}</text>"##,
        WIDTH / 2.0,
        esc(subtitle)
    );
    // Legend.
    let mut x = 20.0;
    for m in &methods {
        let label = match *m {
            "raw-mmap" => "raw-mmap (floor)",
            "memcpy" => "memcpy (floor)",
            other => other,
        };
        let _ = writeln!(
            s,
            r#"<rect x="{x}" y="60" width="14" height="14" fill="{}"/><text x="{}" y="72">{}</text>"#,
            color(m),
            x + 19.0,
            esc(label)
        );
        x += 30.0 + 7.0 * label.len() as f64;
    }
    let mut y = top;
    for (id, describe, rows) in &panels {
        let max = rows
            .iter()
            .map(|m| m.ops_per_s)
            .fold(0.0, f64::max)
            .max(1e-9);
        let step = tick_step(max);
        let axis_max = (max / step).ceil() * step;
        let scale = BARS / axis_max;
        let cache = rows[0].cache;
        let _ = writeln!(
            s,
            r##"<text x="10" y="{}" font-size="13" font-weight="bold">{} <tspan font-weight="normal" fill="#444">({cache} cache) {}; ops/s, median of {} runs</tspan></text>"##,
            y + 18.0,
            esc(id),
            esc(describe),
            rows[0].repeats
        );
        let bars_top = y + PANEL_HEAD;
        let bars_bottom = bars_top + ROW * rows.len() as f64;
        // Grid and tick labels.
        let mut t = 0.0;
        while t <= axis_max * 1.0001 {
            let tx = LEFT + t * scale;
            let _ = writeln!(
                s,
                r##"<line x1="{tx:.1}" y1="{bars_top:.1}" x2="{tx:.1}" y2="{:.1}" stroke="#ddd"/><text x="{tx:.1}" y="{:.1}" font-size="10" text-anchor="middle" fill="#555">{}</text>"##,
                bars_bottom + 3.0,
                bars_bottom + 14.0,
                si(t).trim_end()
            );
            t += step;
        }
        for (r, m) in rows.iter().enumerate() {
            let by = bars_top + ROW * r as f64;
            let w = (m.ops_per_s * scale).max(1.0);
            let ratio = m
                .vs_fixrec
                .map_or(String::new(), |v| format!(" ({v:.2}x fixrec)"));
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text><rect x="{LEFT}" y="{:.1}" width="{w:.1}" height="{:.1}" fill="{}"><title>{}: {}ops/s</title></rect><text x="{:.1}" y="{:.1}" font-size="11">{} ops/s{}</text>"#,
                LEFT - 6.0,
                by + 12.0,
                esc(&m.method),
                by + 2.0,
                ROW - 4.0,
                color(&m.method),
                esc(&m.method),
                si(m.ops_per_s),
                LEFT + w + 5.0,
                by + 12.0,
                si(m.ops_per_s).trim_end(),
                esc(&ratio)
            );
        }
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{bars_top:.1}" x2="{LEFT}" y2="{bars_bottom:.1}" stroke="#333"/>"##
        );
        y = bars_bottom + PANEL_FOOT;
    }
    let _ = writeln!(
        s,
        r##"<text x="10" y="{:.1}" font-size="10" fill="#666">Each bar: one method's median throughput; the axis starts at zero. Floors (grey) are the same work with no store around it.</text>"##,
        y + 10.0
    );
    s.push_str("</svg>\n");
    s
}
