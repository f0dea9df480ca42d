//! Pure helpers: percentiles and a compact "seen" set of (conversation, seq).

use serde::Serialize;

/// Nearest-rank percentile of sorted samples (`p` in 0..=100).
pub fn percentile(sorted: &[u32], p: f64) -> Option<u32> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// p50/p99/max of latency samples in microseconds, reported in milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Latency {
    pub count: usize,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
}

impl Latency {
    /// Sorts `samples` in place.
    pub fn of(samples: &mut [u32]) -> Self {
        samples.sort_unstable();
        let ms = |v: Option<u32>| v.map(|us| us as f64 / 1000.0);
        Latency {
            count: samples.len(),
            p50_ms: ms(percentile(samples, 50.0)),
            p99_ms: ms(percentile(samples, 99.0)),
            max_ms: ms(samples.last().copied()),
        }
    }

    pub fn text(&self) -> String {
        let f = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.1}"));
        format!(
            "{} / {} / {} ms",
            f(self.p50_ms),
            f(self.p99_ms),
            f(self.max_ms)
        )
    }
}

/// Which seqs of which conversations were seen: one bit each.
#[derive(Clone, Debug, Default)]
pub struct SeqBits {
    convs: Vec<Vec<u64>>,
    len: u64,
}

impl SeqBits {
    pub fn new(conversations: usize) -> Self {
        SeqBits {
            convs: vec![Vec::new(); conversations],
            len: 0,
        }
    }

    /// Marks (conv, seq); false if it was already marked or is out of range.
    pub fn insert(&mut self, conv: u32, seq: u32) -> bool {
        let Some(words) = self.convs.get_mut(conv as usize) else {
            return false;
        };
        let (word, bit) = ((seq / 64) as usize, seq % 64);
        if words.len() <= word {
            words.resize(word + 1, 0);
        }
        let mask = 1u64 << bit;
        if words[word] & mask != 0 {
            return false;
        }
        words[word] |= mask;
        self.len += 1;
        true
    }

    pub fn contains(&self, conv: u32, seq: u32) -> bool {
        self.convs
            .get(conv as usize)
            .and_then(|w| w.get((seq / 64) as usize))
            .is_some_and(|w| w & (1u64 << (seq % 64)) != 0)
    }

    /// How many distinct (conv, seq) are marked.
    pub fn len(&self) -> u64 {
        self.len
    }
}

/// Bytes as MiB with one decimal, for the human table.
pub fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&[7], 99.0), Some(7));
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), Some(50));
        assert_eq!(percentile(&v, 99.0), Some(99));
        assert_eq!(percentile(&v, 100.0), Some(100));
        assert_eq!(percentile(&v, 0.0), Some(1));
        let v: Vec<u32> = (1..=1000).collect();
        assert_eq!(percentile(&v, 99.0), Some(990));
        let mut samples = vec![3000, 1000, 2000];
        let l = Latency::of(&mut samples);
        assert_eq!(l.count, 3);
        assert_eq!(l.p50_ms, Some(2.0));
        assert_eq!(l.max_ms, Some(3.0));
        assert_eq!(l.text(), "2.0 / 3.0 / 3.0 ms");
        assert_eq!(Latency::of(&mut []).text(), "n/a / n/a / n/a ms");
    }

    #[test]
    fn seq_bits() {
        let mut b = SeqBits::new(3);
        assert!(b.insert(0, 1));
        assert!(!b.insert(0, 1));
        assert!(b.insert(2, 1000));
        assert!(b.insert(2, 63));
        assert!(b.insert(2, 64));
        assert!(!b.insert(3, 1), "conversation out of range");
        assert!(b.contains(0, 1) && b.contains(2, 1000) && b.contains(2, 64));
        assert!(!b.contains(1, 1) && !b.contains(2, 999) && !b.contains(9, 1));
        assert_eq!(b.len(), 4);
    }
}
