//! The mechanics both lossless trees share (models.conf and the preset INI): the BOM, printing
//! lines back, checking that the lines cover every byte, and a plain line split as the fallback
//! that keeps printing exact even if a grammar ever failed to cover its input.

use std::ops::Range;

/// The span of a leading UTF-8 byte-order mark (empty when there is none).
pub(crate) fn bom_span(source: &str) -> Range<usize> {
    if source.starts_with('\u{FEFF}') {
        0..'\u{FEFF}'.len_utf8()
    } else {
        0..0
    }
}

/// Whether `(text, eol)` spans, in order, cover `source` from `start` to its end without a gap.
pub(crate) fn covers<'a>(
    source: &str,
    start: usize,
    lines: impl Iterator<Item = (&'a Range<usize>, &'a Range<usize>)>,
) -> bool {
    let mut at = start;
    for (text, eol) in lines {
        if text.start != at || eol.start != text.end {
            return false;
        }
        at = eol.end;
    }
    at == source.len()
}

/// The BOM, then every line's text and line ending.
pub(crate) fn print<'a>(
    source: &str,
    bom: &Range<usize>,
    lines: impl Iterator<Item = (&'a Range<usize>, &'a Range<usize>)>,
) -> String {
    let slice = |r: &Range<usize>| source.get(r.clone()).unwrap_or("");
    let mut out = String::with_capacity(source.len());
    out.push_str(slice(bom));
    for (text, eol) in lines {
        out.push_str(slice(text));
        out.push_str(slice(eol));
    }
    out
}

/// `(text, eol)` spans of every line from `start`. Line ends are `\n` and `\r\n`, and a lone
/// `\r` too when `lone_cr_ends_line` (llama.cpp's preset reader; bash `read` does not).
pub(crate) fn split(
    source: &str,
    start: usize,
    lone_cr_ends_line: bool,
) -> Vec<(Range<usize>, Range<usize>)> {
    let mut out = Vec::new();
    let mut at = start;
    loop {
        let rest = source.get(at..).unwrap_or("");
        let found = if lone_cr_ends_line {
            rest.find(['\r', '\n'])
        } else {
            rest.find('\n').map(|i| {
                if i > 0 && rest.as_bytes()[i - 1] == b'\r' {
                    i - 1
                } else {
                    i
                }
            })
        };
        let (text_len, eol_len) = match found {
            Some(i) if rest.get(i..i + 2) == Some("\r\n") => (i, 2),
            Some(i) => (i, 1),
            None => (rest.len(), 0),
        };
        out.push((at..at + text_len, at + text_len..at + text_len + eol_len));
        at += text_len + eol_len;
        if eol_len == 0 {
            return out;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str, lone_cr: bool) -> Vec<(&str, &str)> {
        split(src, 0, lone_cr)
            .into_iter()
            .map(|(t, e)| (&src[t], &src[e]))
            .collect()
    }

    #[test]
    fn split_keeps_every_byte_in_both_modes() {
        let src = "a\r\nb\rc\nd";
        assert_eq!(
            texts(src, false),
            vec![("a", "\r\n"), ("b\rc", "\n"), ("d", "")]
        );
        assert_eq!(
            texts(src, true),
            vec![("a", "\r\n"), ("b", "\r"), ("c", "\n"), ("d", "")]
        );
        for lone_cr in [false, true] {
            let spans = split(src, 0, lone_cr);
            assert!(covers(src, 0, spans.iter().map(|(t, e)| (t, e))));
            assert_eq!(print(src, &(0..0), spans.iter().map(|(t, e)| (t, e))), src);
        }
    }

    #[test]
    fn bom_is_kept_apart() {
        let src = "\u{FEFF}x\n";
        let bom = bom_span(src);
        let spans = split(src, bom.end, false);
        assert_eq!(print(src, &bom, spans.iter().map(|(t, e)| (t, e))), src);
        assert!(
            !covers(src, 0, spans.iter().map(|(t, e)| (t, e))),
            "the BOM is not a line"
        );
    }
}
