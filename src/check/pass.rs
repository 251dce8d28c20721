//! One pass of check's rules over a file, fed whole sections at a time. A chunk's lossless tree,
//! typed profiles and parsed EXTRA_ARGS live only while its per-profile rules run; the
//! whole-file rules (ids, roles, bench twins) run at the end on the [`Outline`] every chunk
//! leaves behind. One chunk is the whole file (`check_source_on`, which returns the `Conf`);
//! many chunks keep a 50 MB file's memory near the size of its text (`check_streamed`,
//! docs/performance.md "Hostile sizes").

use std::ops::Range;
use std::path::Path;

use super::found::Findings;
use super::outline::Outline;
use super::{
    Extra, args, bench, budget_rules, ids, model_rules, models, parse_extra, roles, rpc_rules,
    vllm_rules,
};
use crate::config::{self, Conf, Runtime};
use crate::diag::Diagnostic;
use crate::gguf::ModelCache;
use crate::hardware::Hardware;
use crate::syntax::Document;

/// The rules, in the order their diagnostics are listed when two start at the same byte: the
/// order in which the rules run over a whole file, kept when chunks interleave them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rule {
    Load,
    Ids,
    IdsEach,
    Roles,
    Bench,
    BenchEach,
    Args,
    ModelsNote,
    Models,
    ModelRules,
    Rpc,
    Budget,
    Vllm,
}

pub(crate) struct Pass<'a> {
    models_dir: Option<&'a Path>,
    hardware: Option<&'a Hardware>,
    outline: Outline,
    found: Findings,
    /// Each GGUF opened once for the whole file, shared by the model and budget rules.
    pub models: ModelCache,
}

impl<'a> Pass<'a> {
    pub fn new(models_dir: Option<&'a Path>, hardware: Option<&'a Hardware>) -> Self {
        Pass {
            models_dir,
            hardware,
            outline: Outline::default(),
            found: Findings::default(),
            models: ModelCache::default(),
        }
    }

    /// Parses and checks `text`, whole sections that start at byte `offset` of the file, with
    /// every rule that looks at one profile at a time. The returned `Conf`'s spans are relative
    /// to `text`; the diagnostics kept are shifted into the file.
    pub fn chunk(&mut self, text: String, offset: usize) -> Conf {
        let (conf, mut d) = config::load(Document::parse(text));
        // One list for the chunk, as when the rules ran over the whole file (a rule may look
        // at what earlier ones found: `model_rules` drops what `ot::` already reported), and
        // where each rule's findings end in it.
        let mut ends = vec![(Rule::Load, d.len())];
        self.outline.add(&conf, offset);
        let dir = self.models_dir;
        let runtimes: Vec<Runtime> = conf
            .profiles
            .iter()
            .map(|p| crate::resolve::runtime_of(p, dir))
            .collect();
        // The llama-server rules see the llama-server profiles only; vLLM profiles have their own.
        let llama_only;
        let llama: &Conf = if runtimes.iter().all(|r| *r == Runtime::LlamaServer) {
            &conf
        } else {
            llama_only = Conf {
                doc: Document::parse(""),
                profiles: conf
                    .profiles
                    .iter()
                    .zip(&runtimes)
                    .filter(|(_, r)| **r == Runtime::LlamaServer)
                    .map(|(p, _)| p.clone())
                    .collect(),
            };
            &llama_only
        };
        let mut extra: Vec<Option<Extra>> = llama.profiles.iter().map(parse_extra).collect();
        // Stage 1: the file alone.
        ids::check_each(&conf, &mut d);
        ends.push((Rule::IdsEach, d.len()));
        bench::check_each(&conf, &mut d);
        ends.push((Rule::BenchEach, d.len()));
        args::check(llama, &mut extra, &mut d);
        ends.push((Rule::Args, d.len()));
        models::check(&conf, &runtimes, dir, &mut d);
        ends.push((Rule::Models, d.len()));
        // Stage 2: the models on disk, then the machine.
        model_rules::check(llama, &extra, dir, &mut self.models, &mut d);
        ends.push((Rule::ModelRules, d.len()));
        rpc_rules::check_all(llama, &extra, self.hardware, &mut d);
        ends.push((Rule::Rpc, d.len()));
        let hw = self.hardware;
        budget_rules::check(llama, &extra, dir, hw, &mut self.models, &mut d);
        ends.push((Rule::Budget, d.len()));
        vllm_rules::check(&conf, &runtimes, dir, hw, &mut d);
        ends.push((Rule::Vllm, d.len()));
        let mut end = ends.iter().copied();
        let mut rule = end.next();
        for (i, found) in d.into_iter().enumerate() {
            while let Some((_, e)) = rule
                && i >= e
            {
                rule = end.next();
            }
            let Some((r, _)) = rule else { break };
            self.keep(r, found, offset);
        }
        conf
    }

    /// The whole-file rules on `source` (the file every chunk came from), then every
    /// diagnostic in file order.
    pub fn finish(mut self, source: &str) -> (Findings, ModelCache) {
        let first = self.outline.first_by_id(source);
        let mut d = Vec::new();
        ids::check(&self.outline, source, &first, &mut d);
        self.take(Rule::Ids, std::mem::take(&mut d), 0);
        roles::check(&self.outline, source, &first, &mut d);
        self.take(Rule::Roles, std::mem::take(&mut d), 0);
        bench::check(&self.outline, source, &first, &mut d);
        self.take(Rule::Bench, d, 0);
        drop(first);
        let any_model = self.outline.profiles.iter().any(|p| p.model.is_some());
        if let Some(note) = models::no_models_dir(self.models_dir, any_model) {
            self.found.push(Rule::ModelsNote as u8, note, 0);
        }
        self.found.sort();
        (self.found, self.models)
    }

    fn take(&mut self, rule: Rule, found: Vec<Diagnostic>, offset: usize) {
        for d in found {
            self.keep(rule, d, offset);
        }
    }

    /// Keeps one finding of `rule`, its spans moved from the chunk into the file.
    fn keep(&mut self, rule: Rule, d: Diagnostic, offset: usize) {
        self.found.push(rule as u8, d, offset);
    }

    /// The number of profiles seen so far.
    pub fn profiles(&self) -> usize {
        self.outline.profiles.len()
    }
}

/// Byte ranges of `source` of about `size` bytes each that hold whole sections: each range
/// after the first starts at a line whose first non-blank character is `[` — a header or a bad
/// header, where `config::load` starts a new section (grammar/models_conf.pest `indent`) — so
/// checking the ranges one by one finds what checking the file at once does.
pub(crate) fn chunks(source: &str, size: usize) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut at = size;
    // Bytes, not `str`: `at` may fall inside a character; a line starts after a `\n` byte.
    let bytes = source.as_bytes();
    while at < bytes.len() {
        let Some(nl) = bytes[at..].iter().position(|&b| b == b'\n') else {
            break;
        };
        let line = at + nl + 1;
        let opens_section = bytes[line..]
            .iter()
            .find(|b| !matches!(b, b' ' | b'\t' | 0x0B | 0x0C | b'\r'))
            == Some(&b'[');
        if opens_section {
            out.push(start..line);
            start = line;
            at = line + size;
        } else {
            at = line;
        }
    }
    out.push(start..source.len());
    out
}

#[cfg(test)]
mod tests {
    use super::chunks;

    #[test]
    fn chunks_start_at_section_headers_and_cover_the_text() {
        let src = "# c\n[a]\nK=1\n  [b]\nK=[x]\n\t[bad\nK=2\n";
        let ranges = chunks(src, 1);
        let texts: Vec<&str> = ranges.iter().map(|r| &src[r.clone()]).collect();
        assert_eq!(
            texts,
            ["# c\n", "[a]\nK=1\n", "  [b]\nK=[x]\n", "\t[bad\nK=2\n"]
        );
        let whole = |text: &str, size| chunks(text, size) == std::slice::from_ref(&(0..text.len()));
        assert!(
            whole(src, 1 << 20),
            "a file smaller than a chunk is one chunk"
        );
        assert!(whole("", 4));
        let wide = "[é]\nK=é\n[ü]\n";
        assert_eq!(chunks(wide, 2), [0..10, 10..wide.len()]);
    }
}
