//! Stable sorting for the dashboard's lists, with one copy of the sort in
//! the wasm.
//!
//! `slice::sort_by` is generic over its comparison, so each call site puts
//! its own instance of the standard sort into the browser's wasm (3–5 KB
//! before `wasm-opt`). [`sort_by`] sorts positions through one comparison
//! behind a `dyn`, so the standard sort is there once, for `usize`, and
//! what each call site adds is its comparison and the reordering.

use std::cmp::Ordering;

/// Sorts `list` by `cmp`, keeping the order of equal items (as
/// `slice::sort_by` does).
pub fn sort_by<T>(list: &mut Vec<T>, cmp: impl Fn(&T, &T) -> Ordering) {
    let order = sorted_positions(list.len(), &|a, b| cmp(&list[a], &list[b]));
    let mut items: Vec<Option<T>> = list.drain(..).map(Some).collect();
    list.extend(order.into_iter().filter_map(|i| items[i].take()));
}

/// The positions `0..len` in sorted order.
#[inline(never)]
fn sorted_positions(len: usize, cmp: &dyn Fn(usize, usize) -> Ordering) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    order.sort_by(|&a, &b| cmp(a, b));
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_as_the_standard_stable_sort_does() {
        // Pairs sorted by their first half only: equal keys keep their order.
        let mut seed = 7u64;
        for len in [0usize, 1, 2, 3, 10, 57, 300] {
            let list: Vec<(u8, usize)> = (0..len)
                .map(|i| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    ((seed >> 59) as u8, i)
                })
                .collect();
            let mut ours = list.clone();
            sort_by(&mut ours, |a, b| a.0.cmp(&b.0));
            let mut std = list;
            std.sort_by_key(|a| a.0);
            assert_eq!(ours, std, "{len} items");
        }
    }

    #[test]
    fn sorts_owned_strings_and_references() {
        let mut names = vec!["Cy".to_string(), "Ann".into(), "Bo".into(), "Ann".into()];
        sort_by(&mut names, |a, b| a.cmp(b));
        assert_eq!(names, ["Ann", "Ann", "Bo", "Cy"]);
        let all = [3, 1, 2];
        let mut refs: Vec<&i32> = all.iter().collect();
        sort_by(&mut refs, |a, b| b.cmp(a));
        assert_eq!(refs, [&3, &2, &1]);
    }
}
