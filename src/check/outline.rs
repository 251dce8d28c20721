//! What the whole-file rules (duplicate ids, roles, bench twins) need of each profile, kept with
//! spans into the whole source while the rest of a chunk — its lossless tree, typed profiles and
//! parsed EXTRA_ARGS — is dropped after its rules ran (docs/performance.md, "Hostile sizes").

use std::collections::HashMap;
use std::ops::Range;

use crate::config::{Conf, Spanned};

/// One profile, as the whole-file rules see it.
#[derive(Debug)]
pub(crate) struct Sketch {
    /// The id between the brackets.
    pub id: Range<usize>,
    /// MODEL's value, when set.
    pub model: Option<Range<usize>>,
    /// ROLES, when set (rare: boxed to keep the sketch small).
    pub roles: Option<Box<Spanned<Vec<String>>>>,
}

/// Every profile of a file, in file order.
#[derive(Debug, Default)]
pub(crate) struct Outline {
    pub profiles: Vec<Sketch>,
}

impl Outline {
    /// Adds the profiles of a chunk whose text starts at byte `offset` of the file.
    pub fn add(&mut self, conf: &Conf, offset: usize) {
        let shift = |s: &Range<usize>| s.start + offset..s.end + offset;
        self.profiles.extend(conf.profiles.iter().map(|p| {
            Sketch {
                id: shift(&p.id.span),
                model: p.model.as_ref().map(|m| shift(&m.span)),
                roles: p
                    .roles
                    .as_ref()
                    .map(|r| Box::new(Spanned::new(r.value.clone(), shift(&r.span)))),
            }
        }));
    }

    /// The first profile with each id (what start.sh's lookup and `Conf::profile` find).
    pub fn first_by_id<'s>(&self, source: &'s str) -> HashMap<&'s str, usize> {
        let mut first = HashMap::with_capacity(self.profiles.len());
        for (i, p) in self.profiles.iter().enumerate() {
            first.entry(slice(source, &p.id)).or_insert(i);
        }
        first
    }
}

/// The text of a span of the whole source.
pub(crate) fn slice<'s>(source: &'s str, span: &Range<usize>) -> &'s str {
    source.get(span.clone()).unwrap_or("")
}
