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

/// Candidates prepared once ([`closest`] over a fixed list, such as every flag spelling).
pub struct Dictionary {
    words: Vec<Word<'static>>,
}

impl Dictionary {
    pub fn new(words: impl IntoIterator<Item = &'static str>) -> Dictionary {
        Dictionary {
            words: words.into_iter().map(Word::new).collect(),
        }
    }

    /// [`closest`] over the dictionary.
    pub fn closest(&self, word: &str) -> Option<&'static str> {
        let word = Word::new(word);
        let mut best: Option<(usize, &'static str)> = None;
        for c in &self.words {
            if let Some(d) = word.distance(c)
                && best.is_none_or(|(bd, _)| d < bd)
            {
                best = Some((d, c.text));
            }
        }
        best.map(|(_, c)| c)
    }
}

/// A word with what the cheap lower bounds need.
struct Word<'a> {
    text: &'a str,
    chars: usize,
    /// Which ASCII characters occur; `None` when the word has others.
    ascii: Option<u128>,
}

impl<'a> Word<'a> {
    fn new(text: &'a str) -> Word<'a> {
        let ascii = text
            .bytes()
            .try_fold(0u128, |m, b| (b < 128).then(|| m | 1 << b));
        Word {
            text,
            chars: text.chars().count(),
            ascii,
        }
    }

    /// The distance to `other` when it is within this word's limit. Cheap lower bounds first,
    /// so the table is built only for candidates that can be close (thousands of unknown
    /// flags in one file stay fast): the distance is at least the length difference, and at
    /// least the number of distinct characters one word has and the other lacks (one edit
    /// brings in or removes at most one).
    fn distance(&self, other: &Word) -> Option<usize> {
        let limit = (self.chars / 3).max(2);
        if self.chars.abs_diff(other.chars) > limit {
            return None;
        }
        if let (Some(a), Some(b)) = (self.ascii, other.ascii) {
            let missing = (a & !b).count_ones().max((b & !a).count_ones());
            if missing as usize > limit {
                return None;
            }
        }
        within(self.text, other.text, limit)
    }
}
