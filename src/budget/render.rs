//! Human rendering of a plan: one table row per device with a bar of its components against
//! capacity, then what does not fit. [`Layout`] fits it into a terminal's width and colors the
//! bars; the default layout (pipes, files) is 97 columns with 40-column bars.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};

use super::plan::{DevicePlan, Plan};

/// Bar length without a width limit.
const BAR: usize = 40;
/// Shortest bar drawn in a narrow terminal.
const MIN_BAR: usize = 10;
/// Columns around the bar: `{name:<6} [` … `] {pct:>5.1}%`.
const BAR_FRAME: usize = 17;
/// Columns of the one-row-per-device table.
const TABLE_WIDTH: usize = 97;

/// How to lay a plan out for where it is printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Layout {
    /// Columns to stay within (`None`: no limit, the default layout).
    pub width: Option<usize>,
    /// ANSI colors on the bars and the verdict.
    pub color: bool,
}

impl Layout {
    fn bar_len(&self) -> usize {
        self.width
            .map_or(BAR, |w| w.saturating_sub(BAR_FRAME).clamp(MIN_BAR, BAR))
    }

    /// `text` wrapped to the width, continuation lines indented by `indent`.
    fn wrap(&self, text: &str, indent: &str) -> String {
        match self.width {
            Some(w) if text.chars().count() > w => {
                let opts =
                    textwrap::Options::new(w.max(indent.len() + 10)).subsequent_indent(indent);
                textwrap::fill(text, opts)
            }
            _ => text.to_owned(),
        }
    }

    fn paint(&self, style: Style, text: &str) -> String {
        if self.color {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_owned()
        }
    }
}

const PART_COLORS: [AnsiColor; 7] = [
    AnsiColor::Blue,
    AnsiColor::Cyan,
    AnsiColor::Yellow,
    AnsiColor::Magenta,
    AnsiColor::Green,
    AnsiColor::BrightBlue,
    AnsiColor::BrightBlack,
];

/// Bar glyphs per component, in the order the table lists them.
const PARTS: [(char, &str); 7] = [
    ('W', "weights"),
    ('P', "repack"),
    ('K', "KV"),
    ('R', "recurrent"),
    ('C', "compute"),
    ('O', "output"),
    ('X', "overhead"),
];

fn parts(d: &DevicePlan) -> [f64; 7] {
    [
        d.weights_mib,
        d.weights_repack_mib,
        d.kv_mib,
        d.recurrent_mib,
        d.compute_mib,
        d.output_mib,
        d.overhead_mib,
    ]
}

fn bar(d: &DevicePlan, layout: &Layout) -> String {
    let len = layout.bar_len();
    let scale = d.capacity_mib.max(d.total_mib).max(1.0);
    let mut s = String::new();
    let mut acc = 0.0;
    let mut drawn = 0usize;
    for (((glyph, _), v), color) in PARTS.iter().zip(parts(d)).zip(PART_COLORS) {
        acc += v;
        let upto = (((acc / scale) * len as f64).round() as usize).min(len);
        if upto > drawn {
            let run = glyph.to_string().repeat(upto - drawn);
            s += &layout.paint(Style::new().fg_color(Some(color.into())), &run);
            drawn = upto;
        }
    }
    let cap = (((d.capacity_mib / scale) * len as f64).round() as usize).min(len);
    if cap > drawn {
        s += &".".repeat(cap - drawn);
    }
    s
}

/// [`render_human_in`] with the default layout: no width limit, no color.
pub fn render_human(p: &Plan) -> String {
    render_human_in(p, &Layout::default())
}

/// The plan as text within `layout`'s width (for widths of at least 30 columns).
pub fn render_human_in(p: &Plan, layout: &Layout) -> String {
    let mut out = String::new();
    let c = &p.context;
    let line = |out: &mut String, text: String| {
        let _ = writeln!(out, "{}", layout.wrap(&text, "    "));
    };
    line(
        &mut out,
        format!("plan for {} ({})", p.model, p.program.as_str()),
    );
    line(
        &mut out,
        format!(
            "  n_ctx {} ({} per stream × {} stream(s)), n_seq {}, batch {}/{}, flash attention {}, K {} V {}",
            c.n_ctx,
            c.n_ctx_seq,
            c.n_stream,
            c.n_seq,
            c.n_batch,
            c.n_ubatch,
            if c.flash_attn { "on" } else { "off" },
            c.type_k,
            c.type_v
        ),
    );
    if layout.width.is_some_and(|w| w < TABLE_WIDTH) {
        device_lines(&mut out, p, layout);
    } else {
        device_table(&mut out, p);
    }
    let _ = writeln!(out);
    for d in &p.devices {
        let pct = if d.capacity_mib > 0.0 {
            d.total_mib / d.capacity_mib * 100.0
        } else {
            f64::INFINITY
        };
        let _ = writeln!(out, "{:<6} [{}] {:>5.1}%", d.name, bar(d, layout), pct);
    }
    let legend: Vec<String> = PARTS.iter().map(|(g, n)| format!("{g}={n}")).collect();
    line(&mut out, format!("       {} .=free", legend.join(" ")));
    for k in &p.kv_caches {
        line(
            &mut out,
            format!(
                "KV {:?}: {} cells × {} layers × {} stream(s) = {:.2} MiB (K {:.2}, V {:.2})",
                k.kind, k.cells, k.layers, k.streams, k.size_mib, k.k_mib, k.v_mib
            ),
        );
    }
    let _ = writeln!(out);
    let red = Style::new().fg_color(Some(AnsiColor::Red.into())).bold();
    if p.fits {
        let green = Style::new().fg_color(Some(AnsiColor::Green.into())).bold();
        let _ = writeln!(out, "fits: {}", layout.paint(green, "yes"));
    } else {
        for d in p.devices.iter().filter(|d| d.total_mib > d.capacity_mib) {
            let largest = PARTS
                .iter()
                .zip(parts(d))
                .max_by(|a, b| a.1.total_cmp(&b.1))
                .map_or(("weights", 0.0), |((_, n), v)| (*n, v));
            let text = layout.wrap(
                &format!(
                    "does not fit: {} needs {:.2} MiB of {:.0} MiB (over by {:.2} MiB); largest component: {} ({:.2} MiB)",
                    d.name,
                    d.total_mib,
                    d.capacity_mib,
                    d.total_mib - d.capacity_mib,
                    largest.0,
                    largest.1
                ),
                "  ",
            );
            let rest = &text["does not fit".len()..];
            let _ = writeln!(out, "{}{rest}", layout.paint(red, "does not fit"));
        }
    }
    if let Some(n) = &p.network {
        out.push_str(&super::traffic::render(n));
    }
    for n in &p.notes {
        line(&mut out, format!("note: {n}"));
    }
    out
}

/// Narrow terminals: one wrapped line of components per device instead of the table.
fn device_lines(out: &mut String, p: &Plan, layout: &Layout) {
    let _ = writeln!(out, "\nMiB per device:");
    for d in &p.devices {
        let components: Vec<String> = PARTS
            .iter()
            .zip(parts(d))
            .map(|((_, name), mib)| format!("{name} {mib:.2}"))
            .collect();
        let text = format!(
            "{}: {}; total {:.2} of {:.0}",
            d.name,
            components.join(", "),
            d.total_mib,
            d.capacity_mib
        );
        let _ = writeln!(out, "{}", layout.wrap(&text, "    "));
    }
}

fn device_table(out: &mut String, p: &Plan) {
    let _ = writeln!(
        out,
        "\n{:<6} {:>10} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8} {:>10} {:>10}",
        "device",
        "weights",
        "repack",
        "KV",
        "recurr.",
        "compute",
        "output",
        "overhd",
        "total",
        "capacity"
    );
    for d in &p.devices {
        let _ = writeln!(
            out,
            "{:<6} {:>10.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>8.2} {:>8.0} {:>10.2} {:>10.0}",
            d.name,
            d.weights_mib,
            d.weights_repack_mib,
            d.kv_mib,
            d.recurrent_mib,
            d.compute_mib,
            d.output_mib,
            d.overhead_mib,
            d.total_mib,
            d.capacity_mib
        );
    }
}
