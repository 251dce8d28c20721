//! "Did you mean" for misspelt flags, enum words and buffer types.

/// Edit distance where a swap of two neighbouring characters counts as one edit
/// (optimal string alignment), so `--tmep` is closer to `--temp` than to `--keep`.
pub fn edit_distance(a: &str, b: &str) -> usize {
    within(a, b, usize::MAX).unwrap_or(usize::MAX)
}

/// [`edit_distance`] when it is at most `limit`, else `None`, stopping as soon as a whole row
/// exceeds the limit (row minima never decrease). Three rolling rows on the stack for the
/// usual short flag: a misspelt flag is compared with every flag of the table, for every
/// unknown flag of the file.
fn within(a: &str, b: &str, limit: usize) -> Option<usize> {
    const SHORT: usize = 64;
    let mut buf_a = ['\0'; SHORT];
    let mut buf_b = ['\0'; SHORT];
    let (heap_a, heap_b): (Vec<char>, Vec<char>);
    let a = match fill(&mut buf_a, a) {
        Some(n) => &buf_a[..n],
        None => {
            heap_a = a.chars().collect();
            &heap_a
        }
    };
    let b = match fill(&mut buf_b, b) {
        Some(n) => &buf_b[..n],
        None => {
            heap_b = b.chars().collect();
            &heap_b
        }
    };
    let mut rows_stack = [[0usize; SHORT + 1]; 3];
    let mut rows_heap;
    let [before, prev, row]: &mut [_; 3] = if b.len() < SHORT {
        let [x, y, z] = &mut rows_stack;
        &mut [&mut x[..], &mut y[..], &mut z[..]]
    } else {
        rows_heap = [
            vec![0; b.len() + 1],
            vec![0; b.len() + 1],
            vec![0; b.len() + 1],
        ];
        let [x, y, z] = &mut rows_heap;
        &mut [&mut x[..], &mut y[..], &mut z[..]]
    };
    for (j, cell) in prev.iter_mut().enumerate().take(b.len() + 1) {
        *cell = j;
    }
    for i in 1..=a.len() {
        row[0] = i;
        let mut row_min = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(row[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(before[j - 2] + 1);
            }
            row[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > limit {
            return None;
        }
        std::mem::swap(before, prev);
        std::mem::swap(prev, row);
    }
    Some(prev[b.len()]).filter(|d| *d <= limit)
}

/// The characters of `s` in `buf`, or `None` when it does not fit.
fn fill(buf: &mut [char], s: &str) -> Option<usize> {
    let mut n = 0;
    for c in s.chars() {
        *buf.get_mut(n)? = c;
        n += 1;
    }
    Some(n)
}

/// The closest candidate within a distance that scales with the word (at most a third of
/// it, at least 2), ties going to the first candidate.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word = Word::new(word);
    let mut best: Option<(usize, &'a str)> = None;
    for c in candidates {
        if let Some(d) = word.distance(&Word::new(c))
            && best.is_none_or(|(bd, _)| d < bd)
        {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Candidates prepared once ([`closest`] over a fixed list, such as every flag spelling),
/// sorted by length so a word is compared only with those whose length is within its limit.
pub struct Dictionary {
    /// By length in characters; each with its place in the given list, for ties.
    words: Vec<(usize, Word<'static>)>,
}

impl Dictionary {
    pub fn new(words: impl IntoIterator<Item = &'static str>) -> Dictionary {
        let mut words: Vec<(usize, Word<'static>)> =
            words.into_iter().map(Word::new).enumerate().collect();
        words.sort_by_key(|(i, w)| (w.chars, *i));
        Dictionary { words }
    }

    /// [`closest`] over the dictionary.
    pub fn closest(&self, word: &str) -> Option<&'static str> {
        let word = Word::new(word);
        let limit = word.limit();
        let from = self
            .words
            .partition_point(|(_, c)| c.chars < word.chars.saturating_sub(limit));
        let near = self.words[from..]
            .iter()
            .take_while(|(_, c)| c.chars <= word.chars + limit);
        // (distance, place in the given list, word): the first of the closest wins, as in
        // [`closest`]; a candidate farther than the best so far is not worth its table.
        let mut best: Option<(usize, usize, &'static str)> = None;
        for (i, c) in near {
            let limit = best.map_or(limit, |(bd, _, _)| bd.min(limit));
            if let Some(d) = word.distance_within(c, limit)
                && best.is_none_or(|(bd, bi, _)| (d, *i) < (bd, bi))
            {
                best = Some((d, *i, c.text));
            }
        }
        best.map(|(_, _, c)| c)
    }
}

/// A word with what the cheap lower bounds need.
struct Word<'a> {
    text: &'a str,
    chars: usize,
    /// Which ASCII characters occur, folded into 64 bits ([`fold`]); `None` when the word has
    /// others.
    ascii: Option<u64>,
    /// How many bits `ascii` has set.
    distinct: u32,
}

/// The bit of an ASCII byte: one each for `-`, digits and letters, one shared by the rest. Two
/// words lack at most as many folded bits of each other as characters, so the bound holds; a
/// 64-bit count is half the instructions of a 128-bit one on a CPU without POPCNT (the
/// portable build), and the bound runs against every flag of the table's length range.
fn fold(b: u8) -> u32 {
    match b {
        b'-' => 0,
        b'0'..=b'9' => u32::from(b - b'0') + 1,
        b'a'..=b'z' => u32::from(b - b'a') + 11,
        b'A'..=b'Z' => u32::from(b - b'A') + 37,
        _ => 63,
    }
}

impl<'a> Word<'a> {
    fn new(text: &'a str) -> Word<'a> {
        let ascii = text
            .bytes()
            .try_fold(0u64, |m, b| (b < 128).then(|| m | 1 << fold(b)));
        Word {
            text,
            chars: text.chars().count(),
            ascii,
            distinct: ascii.map_or(0, u64::count_ones),
        }
    }

    /// How far a candidate may be: a third of the word, at least 2.
    fn limit(&self) -> usize {
        (self.chars / 3).max(2)
    }

    /// The distance to `other` when it is within this word's limit. Cheap lower bounds first,
    /// so the table is built only for candidates that can be close (thousands of unknown
    /// flags in one file stay fast): the distance is at least the length difference, and at
    /// least the number of distinct characters one word has and the other lacks (one edit
    /// brings in or removes at most one).
    fn distance(&self, other: &Word) -> Option<usize> {
        self.distance_within(other, self.limit())
    }

    /// [`Self::distance`] when it is at most `limit`.
    fn distance_within(&self, other: &Word, limit: usize) -> Option<usize> {
        if self.chars.abs_diff(other.chars) > limit {
            return None;
        }
        if let (Some(a), Some(b)) = (self.ascii, other.ascii) {
            // One count of the shared characters instead of one per difference.
            let shared = (a & b).count_ones();
            let missing = (self.distinct - shared).max(other.distinct - shared);
            if missing as usize > limit {
                return None;
            }
        }
        within(self.text, other.text, limit)
    }
}

#[cfg(test)]
mod tests {
    use super::{Dictionary, closest, edit_distance};

    /// What [`closest`] means, without its bounds: the first candidate at the least edit
    /// distance within the word's limit.
    fn brute_force<'a>(word: &str, list: &[&'a str]) -> Option<&'a str> {
        let limit = (word.chars().count() / 3).max(2);
        let mut best: Option<(usize, &'a str)> = None;
        for c in list {
            let d = edit_distance(word, c);
            if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, c));
            }
        }
        best.map(|(_, c)| c)
    }

    #[test]
    fn dictionary_finds_what_closest_over_the_list_finds() {
        let list = [
            "--temp",
            "--keep",
            "--top-k",
            "--top-p",
            "-c",
            "-ctk",
            "-ctv",
            "--ctx-size",
            "--batch-size",
            "--ubatch-size",
            "--bogus",
            "--n-gpu-layers",
            "-ngl",
            "--jinja",
            "--temp2",
            "--tmpe",
            "--flash-attn",
            "-fa",
            "--mlock",
            "--no-mmap",
            "--cache-type-k",
        ];
        let dict = Dictionary::new(list);
        for word in [
            "--tmep",
            "--tepm",
            "--bogus-12",
            "--bogus-123456",
            "-cx",
            "--ctx-sze",
            "--top_k",
            "--batchsize",
            "--ubatch",
            "-ng",
            "--flash-atn",
            "--mlok",
            "--nommap",
            "--jinj",
            "",
            "x",
            "--température",
            "--cache-type-kk",
            "--n-gpu-layer",
            "--completely-unrelated",
        ] {
            assert_eq!(dict.closest(word), closest(word, list), "{word}");
            assert_eq!(dict.closest(word), brute_force(word, &list), "{word}");
        }
    }

    #[test]
    fn dictionary_agrees_with_closest_on_misspellings_of_every_flag() {
        let list: Vec<&'static str> = crate::flags::TABLE.all_aliases().collect();
        let dict = Dictionary::new(list.iter().copied());
        // Every fifth flag: the whole table is 15 million tables in a debug build.
        for flag in list.iter().step_by(5) {
            let chars: Vec<char> = flag.chars().collect();
            let mut words = vec![format!("{flag}x"), format!("{flag}-extra-{}", flag.len())];
            for i in 0..chars.len() {
                let mut dropped = chars.clone();
                dropped.remove(i);
                words.push(dropped.iter().collect());
                if i + 1 < chars.len() {
                    let mut swapped = chars.clone();
                    swapped.swap(i, i + 1);
                    words.push(swapped.iter().collect());
                }
            }
            for word in &words {
                let want = closest(word, list.iter().copied());
                assert_eq!(dict.closest(word), want, "{word}");
                assert_eq!(want, brute_force(word, &list), "{word}");
            }
        }
    }
}
