//! Rotation over a ring of keys that skips unavailable ones without walking across them.
//!
//! A pool's keys sit in a ring, ordered by position. For each class, the keys that may not be
//! served (spent for the day) are recorded as *runs*: maximal stretches of keys that are
//! consecutive in ring order and all unavailable. Because runs are maximal, the key after a
//! run's end is always available, so finding the next key to serve takes a constant number of
//! ordered lookups however large the pool is and however many of its keys are spent.
//!
//! The algorithm is written against two small traits so it can be tested here without a
//! server; the module implements them over Redis sorted sets (see `docs/keys.md`).

/// A ring position: the order in which keys joined the pool. Positions start at 1.
pub type Position = u64;

/// Ordered access to the positions of the keys in a pool's ring.
pub trait Ring {
    /// What a lookup yields besides the position (the key itself, in Redis).
    type Member;

    /// The first key whose position is greater than `pos`.
    fn after(&self, pos: Position) -> Option<(Position, Self::Member)>;

    /// The last key whose position is less than `pos`.
    fn before(&self, pos: Position) -> Option<(Position, Self::Member)>;

    /// The first key of the ring.
    fn first(&self) -> Option<(Position, Self::Member)> {
        self.after(0)
    }
}

/// The runs of unavailable keys of one class, as `(first, last)` position pairs.
pub trait Runs {
    /// The run with the smallest last position at or after `pos`, whether or not it
    /// contains `pos`.
    fn first_ending_at_or_after(&self, pos: Position) -> Option<(Position, Position)>;

    /// Records the run `first..=last`.
    fn insert(&mut self, first: Position, last: Position);

    /// Forgets the run that starts at `first`.
    fn delete(&mut self, first: Position);

    /// The run that contains `pos`, if any.
    fn containing(&self, pos: Position) -> Option<(Position, Position)> {
        self.first_ending_at_or_after(pos)
            .filter(|&(first, _)| first <= pos)
    }
}

/// The most run lookups `next_available` makes. With maximal runs it needs three at most:
/// the candidate after the cursor, the candidate after that run, and one more after wrapping.
const MAX_HOPS: usize = 4;

/// The first available key after `cursor` in ring order, wrapping to the start of the ring.
/// `cursor` is the position served last (0 before a class's first use). `None` when the
/// ring is empty or every key is unavailable.
pub fn next_available<R: Ring, U: Runs>(
    ring: &R,
    runs: &U,
    cursor: Position,
) -> Option<(Position, R::Member)> {
    let mut wrapped = false;
    let mut candidate = match ring.after(cursor) {
        Some(found) => found,
        None => {
            wrapped = true;
            ring.first()?
        }
    };
    for _ in 0..MAX_HOPS {
        let Some((_, last)) = runs.containing(candidate.0) else {
            return Some(candidate);
        };
        candidate = match ring.after(last) {
            Some(found) => found,
            None if !wrapped => {
                wrapped = true;
                ring.first()?
            }
            None => return None,
        };
    }
    // Only reachable if the runs are not maximal, which the functions below never leave
    // behind; answering "nothing available" is safer than looping.
    None
}

/// Marks the key at `pos` (in the ring, currently available) unavailable, joining it with
/// the runs that end just before it and start just after it.
pub fn mark_unavailable<R: Ring, U: Runs>(ring: &R, runs: &mut U, pos: Position) {
    let left = ring.before(pos).and_then(|(prev, _)| runs.containing(prev));
    let right = ring.after(pos).and_then(|(next, _)| runs.containing(next));
    let first = match left {
        Some((first, _)) => {
            runs.delete(first);
            first
        }
        None => pos,
    };
    let last = match right {
        Some((next_first, last)) => {
            runs.delete(next_first);
            last
        }
        None => pos,
    };
    runs.insert(first, last);
}

/// Marks the key at `pos` (in the ring, currently inside a run) available again, splitting
/// its run around it.
pub fn mark_available<R: Ring, U: Runs>(ring: &R, runs: &mut U, pos: Position) {
    let Some((first, last)) = runs.containing(pos) else {
        return;
    };
    runs.delete(first);
    if first < pos {
        if let Some((prev, _)) = ring.before(pos) {
            runs.insert(first, prev);
        }
    }
    if pos < last {
        if let Some((next, _)) = ring.after(pos) {
            runs.insert(next, last);
        }
    }
}

/// Repairs the runs after the key at `pos` has been taken out of the ring (`ring` no longer
/// holds it). A run that started or ended at the key shrinks; two runs that the key, being
/// available, kept apart become one.
pub fn forget_position<R: Ring, U: Runs>(ring: &R, runs: &mut U, pos: Position) {
    if let Some((first, last)) = runs.containing(pos) {
        runs.delete(first);
        if first == pos && last == pos {
            return;
        }
        let first = if first == pos {
            ring.after(pos).map_or(pos, |(next, _)| next)
        } else {
            first
        };
        let last = if last == pos {
            ring.before(pos).map_or(pos, |(prev, _)| prev)
        } else {
            last
        };
        runs.insert(first, last);
        return;
    }
    let (Some((prev, _)), Some((next, _))) = (ring.before(pos), ring.after(pos)) else {
        return;
    };
    if let (Some((left_first, _)), Some((right_first, right_last))) =
        (runs.containing(prev), runs.containing(next))
    {
        runs.delete(left_first);
        runs.delete(right_first);
        runs.insert(left_first, right_last);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    /// A ring of positions with no members, for testing the algorithm alone.
    #[derive(Default)]
    struct MemRing(BTreeSet<Position>);

    impl Ring for MemRing {
        type Member = ();
        fn after(&self, pos: Position) -> Option<(Position, ())> {
            self.0.range(pos + 1..).next().map(|&p| (p, ()))
        }
        fn before(&self, pos: Position) -> Option<(Position, ())> {
            self.0.range(..pos).next_back().map(|&p| (p, ()))
        }
    }

    /// Runs keyed by their last position, as the sorted set orders them.
    #[derive(Default, Debug, PartialEq)]
    struct MemRuns(BTreeMap<Position, Position>);

    impl Runs for MemRuns {
        fn first_ending_at_or_after(&self, pos: Position) -> Option<(Position, Position)> {
            self.0
                .range(pos..)
                .next()
                .map(|(&last, &first)| (first, last))
        }
        fn insert(&mut self, first: Position, last: Position) {
            self.0.insert(last, first);
        }
        fn delete(&mut self, first: Position) {
            self.0.retain(|_, f| *f != first);
        }
    }

    fn ring(positions: impl IntoIterator<Item = Position>) -> MemRing {
        MemRing(positions.into_iter().collect())
    }

    fn runs_of(runs: &MemRuns) -> Vec<(Position, Position)> {
        runs.0.iter().map(|(&last, &first)| (first, last)).collect()
    }

    /// The runs that a set of unavailable positions should produce.
    fn expected_runs(
        ring: &MemRing,
        unavailable: &BTreeSet<Position>,
    ) -> Vec<(Position, Position)> {
        let mut out = Vec::new();
        let mut current: Option<(Position, Position)> = None;
        for &p in &ring.0 {
            if unavailable.contains(&p) {
                current = Some(current.map_or((p, p), |(first, _)| (first, p)));
            } else if let Some(run) = current.take() {
                out.push(run);
            }
        }
        out.extend(current);
        out
    }

    #[test]
    fn next_serves_the_first_key_when_nothing_was_served() {
        let r = ring([3, 5, 9]);
        assert_eq!(
            next_available(&r, &MemRuns::default(), 0).map(|c| c.0),
            Some(3)
        );
    }

    #[test]
    fn next_wraps_after_the_last_key() {
        let r = ring([3, 5, 9]);
        assert_eq!(
            next_available(&r, &MemRuns::default(), 9).map(|c| c.0),
            Some(3)
        );
    }

    #[test]
    fn next_jumps_a_run_in_one_hop() {
        let r = ring(1..=10);
        let mut u = MemRuns::default();
        for p in 2..=8 {
            mark_unavailable(&r, &mut u, p);
        }
        assert_eq!(runs_of(&u), vec![(2, 8)]);
        assert_eq!(next_available(&r, &u, 1).map(|c| c.0), Some(9));
    }

    #[test]
    fn next_is_none_when_every_key_is_unavailable() {
        let r = ring(1..=4);
        let mut u = MemRuns::default();
        for p in [4, 1, 3, 2] {
            mark_unavailable(&r, &mut u, p);
        }
        assert_eq!(runs_of(&u), vec![(1, 4)]);
        for cursor in 0..=5 {
            assert_eq!(next_available(&r, &u, cursor).map(|c| c.0), None);
        }
    }

    #[test]
    fn next_on_an_empty_ring_is_none() {
        assert!(next_available(&ring([]), &MemRuns::default(), 0).is_none());
    }

    #[test]
    fn next_wraps_past_a_run_at_the_end_and_one_at_the_start() {
        let r = ring(1..=6);
        let mut u = MemRuns::default();
        for p in [1, 2, 5, 6] {
            mark_unavailable(&r, &mut u, p);
        }
        assert_eq!(next_available(&r, &u, 4).map(|c| c.0), Some(3));
    }

    #[test]
    fn restoring_splits_a_run() {
        let r = ring(1..=5);
        let mut u = MemRuns::default();
        for p in 1..=5 {
            mark_unavailable(&r, &mut u, p);
        }
        mark_available(&r, &mut u, 3);
        assert_eq!(runs_of(&u), vec![(1, 2), (4, 5)]);
        mark_available(&r, &mut u, 1);
        assert_eq!(runs_of(&u), vec![(2, 2), (4, 5)]);
    }

    #[test]
    fn removing_an_available_key_joins_its_neighbours_runs() {
        let mut r = ring(1..=5);
        let mut u = MemRuns::default();
        for p in [1, 2, 4, 5] {
            mark_unavailable(&r, &mut u, p);
        }
        r.0.remove(&3);
        forget_position(&r, &mut u, 3);
        assert_eq!(runs_of(&u), vec![(1, 5)]);
    }

    #[test]
    fn removing_the_ends_of_a_run_shrinks_it() {
        let mut r = ring(1..=5);
        let mut u = MemRuns::default();
        for p in 2..=4 {
            mark_unavailable(&r, &mut u, p);
        }
        r.0.remove(&2);
        forget_position(&r, &mut u, 2);
        assert_eq!(runs_of(&u), vec![(3, 4)]);
        r.0.remove(&4);
        forget_position(&r, &mut u, 4);
        assert_eq!(runs_of(&u), vec![(3, 3)]);
        r.0.remove(&3);
        forget_position(&r, &mut u, 3);
        assert_eq!(runs_of(&u), vec![]);
    }

    /// A small deterministic generator, so the test needs no dependency.
    struct Lcg(u64);
    impl Lcg {
        fn below(&mut self, n: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) % n
        }
    }

    #[test]
    fn random_operations_keep_runs_maximal_and_next_matches_a_linear_scan() {
        let mut rng = Lcg(7);
        for _round in 0..200 {
            let mut r = ring([]);
            let mut u = MemRuns::default();
            let mut unavailable = BTreeSet::new();
            let mut seq = 0;
            let mut cursor = 0;
            for _ in 0..200 {
                match rng.below(5) {
                    0 => {
                        seq += 1;
                        r.0.insert(seq);
                    }
                    1 if !r.0.is_empty() => {
                        let p =
                            *r.0.iter()
                                .nth(rng.below(r.0.len() as u64) as usize)
                                .unwrap();
                        r.0.remove(&p);
                        forget_position(&r, &mut u, p);
                        unavailable.remove(&p);
                    }
                    2 if !r.0.is_empty() => {
                        let p =
                            *r.0.iter()
                                .nth(rng.below(r.0.len() as u64) as usize)
                                .unwrap();
                        if unavailable.insert(p) {
                            mark_unavailable(&r, &mut u, p);
                        }
                    }
                    3 if !r.0.is_empty() => {
                        let p =
                            *r.0.iter()
                                .nth(rng.below(r.0.len() as u64) as usize)
                                .unwrap();
                        if unavailable.remove(&p) {
                            mark_available(&r, &mut u, p);
                        }
                    }
                    _ => {
                        let scan =
                            r.0.range(cursor + 1..)
                                .chain(r.0.range(..=cursor))
                                .find(|p| !unavailable.contains(p))
                                .copied();
                        let got = next_available(&r, &u, cursor).map(|c| c.0);
                        assert_eq!(got, scan);
                        if let Some(p) = got {
                            cursor = p;
                        }
                    }
                }
                assert_eq!(runs_of(&u), expected_runs(&r, &unavailable));
            }
        }
    }
}
