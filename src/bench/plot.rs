//! `bench --plot`: one SVG beside summary.json comparing the run's profiles — generation t/s
//! (left) and p95 end-to-end latency (right), each against the server's peak RSS, one labelled
//! point per profile (docs/bench.md, "Plot"). Drawn from the summary's own numbers, so the
//! picture and the decision file cannot disagree.

use std::path::{Path, PathBuf};

use plotters::prelude::*;
use serde_json::Value;

use super::error::BenchError;
use super::output::Summary;

/// One profile's point: what the two panels plot.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub id: String,
    pub rss_mib: f64,
    pub gen_tps: Option<f64>,
    pub p95_ms: Option<f64>,
}

/// The points of a summary, and the ids that have no peak RSS (attached with `--url`, or the
/// run failed before the server was sampled): they are named under the chart, not plotted.
pub fn points(s: &Summary) -> (Vec<Point>, Vec<String>) {
    let mut points = Vec::new();
    let mut missing = Vec::new();
    for p in &s.profiles {
        let id = p["id"].as_str().unwrap_or("?").to_owned();
        let num = |k: &str| p.get(k).and_then(Value::as_f64).filter(|v| v.is_finite());
        match num("peak_rss_mib") {
            Some(rss_mib) => points.push(Point {
                id,
                rss_mib,
                gen_tps: num("gen_tps"),
                p95_ms: num("p95_latency_ms"),
            }),
            None => missing.push(id),
        }
    }
    (points, missing)
}

/// Writes `plot.svg` into the run directory (atomically) and returns its path.
pub fn write_plot(run_dir: &Path, s: &Summary) -> Result<PathBuf, BenchError> {
    let svg = render_svg(s).map_err(|e| BenchError::Plot(e.to_string()))?;
    let path = run_dir.join("plot.svg");
    crate::fsutil::write_atomic(&path, &svg).map_err(|source| BenchError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}

type DrawResult<T> = Result<T, Box<dyn std::error::Error>>;

/// The SVG text of the two panels.
pub fn render_svg(s: &Summary) -> DrawResult<String> {
    let (points, missing) = points(s);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1000, 460)).into_drawing_area();
        root.fill(&WHITE)?;
        let caption = if missing.is_empty() {
            format!("profilec bench {}", s.run)
        } else {
            format!(
                "profilec bench {} (no peak RSS, not plotted: {})",
                s.run,
                missing.join(", ")
            )
        };
        let root = root.titled(&caption, ("sans-serif", 18))?;
        let (left, right) = root.split_horizontally(500);
        panel(
            &left,
            &points,
            "generation t/s (llama-server timings)",
            |p| p.gen_tps,
        )?;
        panel(&right, &points, "p95 latency, ms (worst cell)", |p| {
            p.p95_ms
        })?;
        root.present()?;
    }
    Ok(svg)
}

fn panel(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    points: &[Point],
    y_label: &str,
    y: impl Fn(&Point) -> Option<f64>,
) -> DrawResult<()> {
    let xy: Vec<(f64, f64, &str)> = points
        .iter()
        .filter_map(|p| y(p).map(|v| (p.rss_mib, v, p.id.as_str())))
        .collect();
    let x_max = xy.iter().map(|p| p.0).fold(1.0, f64::max) * 1.15;
    let y_max = xy.iter().map(|p| p.1).fold(1.0, f64::max) * 1.15;
    let mut chart = ChartBuilder::on(area)
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)?;
    chart
        .configure_mesh()
        .x_desc("peak RSS of the server, MiB")
        .y_desc(y_label)
        .draw()?;
    chart.draw_series(xy.iter().map(|&(x, v, id)| {
        EmptyElement::at((x, v))
            + Circle::new((0, 0), 5, BLUE.filled())
            + Text::new(id.to_owned(), (8, -12), ("sans-serif", 13))
    }))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn summary(profiles: Vec<Value>) -> Summary {
        let mut s: Summary = serde_json::from_value(json!({
            "run": "r1", "conf": "models.conf", "url": null, "passed": true, "failure": null,
            "prompts": 1, "nice": null, "matrix": {}, "sampler": null, "profiles": []
        }))
        .expect("a summary");
        s.profiles = profiles;
        s
    }

    #[test]
    fn plots_each_profile_with_rss_and_names_the_rest() {
        let s = summary(vec![
            json!({"id": "gemma-a", "peak_rss_mib": 512.5, "gen_tps": 40.0, "p95_latency_ms": 900.0}),
            json!({"id": "gemma-b", "peak_rss_mib": 700.0, "gen_tps": 35.0, "p95_latency_ms": null}),
            json!({"id": "attached", "peak_rss_mib": null, "gen_tps": 20.0}),
        ]);
        let (pts, missing) = points(&s);
        assert_eq!(pts.len(), 2);
        assert_eq!(pts[1].p95_ms, None);
        assert_eq!(missing, vec!["attached".to_owned()]);
        let svg = render_svg(&s).expect("draws");
        assert!(svg.trim_start().starts_with("<svg"), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"));
        // gemma-a in both panels, gemma-b only in the t/s panel (a <text>'s content is its
        // own line in plotters' SVG).
        let labels = |id: &str| svg.lines().filter(|l| l.trim() == id).count();
        assert_eq!(labels("gemma-a"), 2, "{svg}");
        assert_eq!(labels("gemma-b"), 1, "{svg}");
        assert!(svg.contains("not plotted: attached"));
    }

    #[test]
    fn an_empty_run_still_draws_axes() {
        let svg = render_svg(&summary(Vec::new())).expect("draws");
        assert!(svg.contains("peak RSS of the server, MiB"));
    }
}
