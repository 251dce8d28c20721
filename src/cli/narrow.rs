//! Fitting a diagnostic into the terminal's width (docs/cli.md, "Color and width"). miette
//! wraps the message and help itself, but not the quoted source line, the labels under it or
//! the `╭─[file:line:col]` header. So, before miette renders: the source line is cut to a window
//! around the span (`Excerpt`), each label is wrapped to the columns left of where miette draws
//! it, and a long file name loses its start; after: any line still too wide is cut with `…`.

use textwrap::core::display_width;

use super::excerpt;

/// The narrowest source window shown, whatever the terminal: below it the excerpt says nothing.
const MIN_WINDOW: usize = 16;
/// The narrowest a label is wrapped to.
const MIN_LABEL: usize = 12;
/// What miette draws before a label's text: `╰── `.
const LABEL_LEAD: usize = 4;
const ELLIPSIS: char = '…';

/// The layout of one diagnostic in `width` columns, whose excerpt shows source lines up to the
/// 0-based `last_line`.
pub struct Narrow {
    pub width: usize,
    /// Columns miette writes before a source line: ` N │ ` for the widest line number.
    gutter: usize,
}

impl Narrow {
    pub fn new(width: usize, last_line: usize) -> Narrow {
        Narrow {
            width,
            gutter: (last_line + 1).to_string().len() + 4,
        }
    }

    /// Characters of a source line shown (the two `…` of a cut line come on top).
    pub fn window(&self) -> usize {
        self.width
            .saturating_sub(self.gutter + 2)
            .clamp(MIN_WINDOW, excerpt::WIDTH)
    }

    /// The file name for miette's header `╭─[NAME:LINE:COL]`, its start replaced by `…` when the
    /// header would be wider than the terminal (the summary line names the whole path).
    pub fn name(&self, name: &str, line: usize, column: usize) -> String {
        // `   ╭─[` before the name (the gutter less one), `:LINE:COL]` after it.
        let fixed = self.gutter - 1 + 3 + format!(":{line}:{column}]").len();
        let room = self.width.saturating_sub(fixed).max(MIN_LABEL);
        if display_width(name) <= room {
            return name.to_owned();
        }
        let mut tail: Vec<char> = Vec::new();
        let mut used = 1;
        for c in name.chars().rev() {
            used += display_width(c.encode_utf8(&mut [0; 4]));
            if used > room {
                break;
            }
            tail.push(c);
        }
        std::iter::once(ELLIPSIS)
            .chain(tail.into_iter().rev())
            .collect()
    }

    /// `label` wrapped (lines joined by `\n`, which miette draws one under the other) to fit
    /// after a span whose underline runs from display column `start` to `end` of the excerpt
    /// line: miette puts the label's `╰──` under the middle of the underline.
    pub fn label(&self, label: &str, start: usize, end: usize) -> String {
        let middle = (start + end.max(start + 1)) / 2;
        let room = self
            .width
            .saturating_sub(self.gutter + middle + LABEL_LEAD)
            .max(MIN_LABEL);
        textwrap::wrap(label, room).join("\n")
    }
}

/// `text` with every line wider than `width` columns cut to `width`, its last column `…`.
/// ANSI escape sequences (color) are kept and take no columns; a cut colored line ends with a
/// reset.
pub fn cut(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches('\n');
        if display_width(body) <= width {
            out += line;
            continue;
        }
        let mut used = 0;
        let mut colored = false;
        let mut chars = body.chars();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                out.push(c);
                colored = true;
                for c in chars.by_ref() {
                    out.push(c);
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
                continue;
            }
            let w = display_width(c.encode_utf8(&mut [0; 4]));
            if used + w + 1 > width {
                break;
            }
            out.push(c);
            used += w;
        }
        out.push(ELLIPSIS);
        if colored {
            out += "\x1b[0m";
        }
        out += &line[body.len()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_line_fits_and_keeps_its_colors_closed() {
        let line = "\x1b[31mabcdefghij\x1b[0m klm\nshort\n";
        let out = cut(line, 6);
        assert_eq!(out, "\x1b[31mabcde…\x1b[0m\nshort\n");
        assert_eq!(cut("plain text here", 8), "plain t…");
    }

    #[test]
    fn a_long_name_keeps_its_end() {
        let n = Narrow::new(40, 9);
        let name = n.name(
            "/a/very/long/directory/name/that/goes/on/and/on/models.conf",
            4,
            12,
        );
        assert!(
            name.starts_with('…') && name.ends_with("/on/models.conf"),
            "{name}"
        );
        assert!(
            3 + 3 + display_width(&name) + ":4:12]".len() <= 40,
            "{name}"
        );
        assert_eq!(n.name("models.conf", 4, 12), "models.conf");
    }

    #[test]
    fn labels_wrap_to_the_columns_after_the_underline() {
        let n = Narrow::new(40, 9);
        let label = n.label("llama-server refuses to start: \"invalid argument\"", 4, 10);
        for l in label.lines() {
            assert!(6 + 7 + 4 + l.len() <= 40, "{label:?}");
        }
        assert!(label.contains('\n'));
    }
}
