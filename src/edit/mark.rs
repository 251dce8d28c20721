use super::EditError;
use crate::config::{Conf, Key};
use crate::syntax::{Edit, LineKind};

const UNTESTED: &str = "NOT YET TESTED";

/// Sets SPEED of `id` and drops its `# NOT YET TESTED` comment lines (in the comment block right
/// above the header and inside the section): the two lines that change when a profile has run.
pub fn mark_tested(conf: &Conf, id: &str, speed: &str) -> Result<String, EditError> {
    let doc = &conf.doc;
    let p = conf
        .profile(id)
        .ok_or_else(|| EditError::UnknownProfile(id.to_string()))?;
    let lines = doc.lines();
    let mut edits = Vec::new();
    match p.entry(Key::Speed) {
        Some(e) => edits.push(Edit::replace(e.value.span.clone(), speed)),
        None => {
            // After NAME/DESCRIPTION when present (the corpus' order), else after the header.
            let after = [Key::Description, Key::Name]
                .iter()
                .find_map(|k| p.entry(*k))
                .map_or(p.header_line, |e| e.line);
            let line = &lines[after];
            let eol = match doc.slice(&line.eol) {
                "" => doc.dominant_eol(),
                e => e,
            };
            let lead = if line.eol.is_empty() { eol } else { "" };
            edits.push(Edit::insert(
                line.eol.end,
                format!("{lead}SPEED={speed}{eol}"),
            ));
        }
    }
    // The comment block above the header: consecutive comment/blank lines back to the previous
    // section's content.
    let mut first = p.header_line;
    while first > 0
        && matches!(
            lines[first - 1].kind,
            LineKind::Comment { .. } | LineKind::Blank
        )
    {
        first -= 1;
    }
    for line in &lines[first..=p.last_entry_line] {
        if let LineKind::Comment { text } = &line.kind
            && doc.slice(text).contains(UNTESTED)
        {
            edits.push(Edit::replace(line.text.start..line.eol.end, ""));
        }
    }
    doc.apply(&edits).map_err(EditError::Apply)
}
