//! Rotation checked against a model: thousands of random ADD, REMOVE, SPEND, RESTORE,
//! RECORD and NEXT commands on small pools, every reply compared with what a plain list
//! walk gives, and after every command the pool's keys compared with the layout the model
//! implies (ring, cursor, usage, spent keys and their runs).
//!
//! The module keeps the spent keys as runs so that NEXT never walks across them; the model
//! walks, so a run that is not maximal, or left stale by a REMOVE or RESTORE, shows up as
//! a different key served or a different `skip` key.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{call, errors, pinned_server, text, Dump, Entry, Stored};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use redis::Value;

/// The quota day at `NOON_JUNE_15`.
const DAY: &str = "2026-06-15";
const CLASSES: [&str; 2] = ["embed", "generate"];

/// What the pool should hold, kept the simplest way.
#[derive(Default, Debug)]
struct Model {
    seq: i64,
    /// (position, key) in ring order
    ring: Vec<(i64, String)>,
    /// class -> position of the key it served last (0 before its first NEXT)
    cursor: BTreeMap<String, i64>,
    spent: BTreeMap<String, BTreeSet<String>>,
    usage: BTreeMap<String, i64>,
}

impl Model {
    fn position(&self, key: &str) -> Option<i64> {
        self.ring.iter().find(|(_, k)| k == key).map(|(p, _)| *p)
    }

    fn is_spent(&self, class: &str, key: &str) -> bool {
        self.spent.get(class).is_some_and(|s| s.contains(key))
    }

    fn add(&mut self, keys: &[String]) -> i64 {
        let mut added = 0;
        for k in keys {
            if self.position(k).is_none() {
                self.seq += 1;
                self.ring.push((self.seq, k.clone()));
                added += 1;
            }
        }
        added
    }

    fn remove(&mut self, keys: &[String]) -> i64 {
        let mut removed = 0;
        for k in keys {
            if let Some(i) = self.ring.iter().position(|(_, x)| x == k) {
                self.ring.remove(i);
                for s in self.spent.values_mut() {
                    s.remove(k);
                }
                self.usage.remove(k);
                removed += 1;
            }
        }
        removed
    }

    fn spend(&mut self, key: &str, class: &str) -> i64 {
        self.cursor.entry(class.to_string()).or_insert(0);
        i64::from(
            self.spent
                .entry(class.to_string())
                .or_default()
                .insert(key.to_string()),
        )
    }

    fn restore(&mut self, key: &str, class: &str) -> i64 {
        i64::from(self.spent.get_mut(class).is_some_and(|s| s.remove(key)))
    }

    fn record(&mut self, key: &str, count: i64) -> i64 {
        let n = self.usage.entry(key.to_string()).or_insert(0);
        *n += count;
        *n
    }

    /// The first key after the cursor's position, wrapping, that is not spent.
    fn next(&mut self, class: &str) -> Option<String> {
        let cursor = *self.cursor.entry(class.to_string()).or_insert(0);
        let after = self.ring.iter().filter(|(p, _)| *p > cursor);
        let before = self.ring.iter().filter(|(p, _)| *p <= cursor);
        let (pos, key) = after
            .chain(before)
            .find(|(_, k)| !self.is_spent(class, k))?
            .clone();
        self.cursor.insert(class.to_string(), pos);
        self.record(&key, 1);
        Some(key)
    }

    /// Maximal runs of spent keys, consecutive in ring order: (first, last) position.
    fn runs(&self, class: &str) -> Vec<(i64, i64)> {
        let mut runs: Vec<(i64, i64)> = Vec::new();
        let mut open = false;
        for (p, k) in &self.ring {
            if self.is_spent(class, k) {
                match runs.last_mut() {
                    Some(run) if open => run.1 = *p,
                    _ => runs.push((*p, *p)),
                }
                open = true;
            } else {
                open = false;
            }
        }
        runs
    }

    /// The keys the pool should have, as a dump shows them.
    fn layout(&self, pool: &str) -> Vec<(String, Stored, bool)> {
        let name = |rest: &str| format!("gpool:{{{pool}}}:{rest}");
        let mut out = Vec::new();
        if !self.ring.is_empty() {
            let members = self
                .ring
                .iter()
                .map(|(p, k)| (k.clone(), p.to_string()))
                .collect();
            out.push((name("ring"), Stored::ZSet(members), false));
        }
        if self.seq > 0 {
            out.push((
                name("meta"),
                Stored::Hash(vec![("seq".into(), self.seq.to_string())]),
                false,
            ));
        }
        if !self.cursor.is_empty() {
            let fields = self
                .cursor
                .iter()
                .map(|(c, p)| (c.clone(), p.to_string()))
                .collect();
            out.push((name("cursor"), Stored::Hash(fields), false));
        }
        if !self.usage.is_empty() {
            let fields = self
                .usage
                .iter()
                .map(|(k, n)| (k.clone(), n.to_string()))
                .collect();
            out.push((name(&format!("usage:{DAY}")), Stored::Hash(fields), true));
        }
        for class in self.spent.keys() {
            let spent: Vec<(String, String)> = self
                .ring
                .iter()
                .filter(|(_, k)| self.is_spent(class, k))
                .map(|(p, k)| (k.clone(), p.to_string()))
                .collect();
            if spent.is_empty() {
                continue;
            }
            out.push((
                name(&format!("spent:{class}:{DAY}")),
                Stored::ZSet(spent),
                true,
            ));
            let runs = self
                .runs(class)
                .iter()
                .map(|(s, e)| (s.to_string(), e.to_string()))
                .collect();
            out.push((
                name(&format!("skip:{class}:{DAY}")),
                Stored::ZSet(runs),
                true,
            ));
        }
        out
    }
}

/// Compares a pool's keys and values with the model's layout; the differences, if any.
/// Times to live are left to the key layout tests, so that this test speaks of rotation.
fn layout_difference(dump: &Dump, want: &[(String, Stored, bool)]) -> Option<String> {
    let mut report = String::new();
    let got: Vec<&String> = dump.keys().collect();
    let mut names: Vec<&String> = want.iter().map(|(n, _, _)| n).collect();
    names.sort();
    if got != names {
        report.push_str(&format!("keys {got:?}, model {names:?}\n"));
    }
    for (name, value, _) in want {
        let Some(Entry { value: v, .. }) = dump.get(name) else {
            continue;
        };
        if v != value {
            report.push_str(&format!("{name}: {v:?}, model {value:?}\n"));
        }
    }
    (!report.is_empty()).then_some(report)
}

#[test]
fn random_commands_rotate_as_the_model_does() {
    let server = pinned_server();
    let mut con = server.conn();
    let mut rng = StdRng::seed_from_u64(0x6770_6f6f_6c01);
    let mut commands = 0;
    // What the random commands reached, so that a change of seed or mix cannot quietly stop
    // exercising the skip runs.
    let (mut nils, mut spent_removed, mut longest_run) = (0, 0, 0);

    for round in 0..16 {
        let pool = format!("model.{round}");
        let size = rng.gen_range(2..=12usize);
        // A few more keys than the pool holds, so some commands name absent keys.
        let universe: Vec<String> = (0..size + 3)
            .map(|i| format!("test-key-{round:02}-{i:04}"))
            .collect();
        let mut model = Model::default();
        let mut history: Vec<String> = Vec::new();

        let first: Vec<String> = universe[..size].to_vec();
        let mut words = vec!["GPOOL.ADD".to_string(), pool.clone()];
        words.extend(first.iter().cloned());
        let reply = call(&mut con, &words);
        assert_eq!(reply, Ok(Value::Int(model.add(&first))));
        history.push(words.join(" "));

        for _ in 0..220 {
            commands += 1;
            let class = CLASSES.choose(&mut rng).unwrap().to_string();
            let key = universe.choose(&mut rng).unwrap().clone();
            let roll = rng.gen_range(0..100);
            let (words, expected): (Vec<String>, Result<Value, String>) = if roll < 42 {
                let want = match model.next(&class) {
                    Some(k) => Value::BulkString(k.into_bytes()),
                    None => {
                        nils += 1;
                        Value::Nil
                    }
                };
                (vec!["GPOOL.NEXT".into(), pool.clone(), class], Ok(want))
            } else if roll < 67 {
                let want = match model.position(&key) {
                    Some(_) => Ok(Value::Int(model.spend(&key, &class))),
                    None => Err(errors::not_in_pool(&key, &pool)),
                };
                (vec!["GPOOL.SPEND".into(), pool.clone(), key, class], want)
            } else if roll < 82 {
                let want = match model.position(&key) {
                    Some(_) => Ok(Value::Int(model.restore(&key, &class))),
                    None => Err(errors::not_in_pool(&key, &pool)),
                };
                (vec!["GPOOL.RESTORE".into(), pool.clone(), key, class], want)
            } else if roll < 88 {
                let n = rng.gen_range(1..=3);
                let keys: Vec<String> = (0..n)
                    .map(|_| universe.choose(&mut rng).unwrap().clone())
                    .collect();
                let want = Ok(Value::Int(model.add(&keys)));
                let mut words = vec!["GPOOL.ADD".to_string(), pool.clone()];
                words.extend(keys);
                (words, want)
            } else if roll < 95 {
                // Keep at least one key, so that NEXT always has a ring to walk.
                let n = rng.gen_range(1..=2);
                let mut keys: Vec<String> = (0..n)
                    .map(|_| universe.choose(&mut rng).unwrap().clone())
                    .collect();
                let left = model.ring.iter().filter(|(_, k)| !keys.contains(k)).count();
                if left == 0 {
                    keys.truncate(0);
                    keys.push(
                        universe
                            .iter()
                            .find(|k| model.position(k).is_none())
                            .unwrap()
                            .clone(),
                    );
                }
                spent_removed += keys
                    .iter()
                    .filter(|k| CLASSES.iter().any(|c| model.is_spent(c, k)))
                    .count();
                let want = Ok(Value::Int(model.remove(&keys)));
                let mut words = vec!["GPOOL.REMOVE".to_string(), pool.clone()];
                words.extend(keys);
                (words, want)
            } else {
                let count = rng.gen_range(1..=5i64);
                let want = match model.position(&key) {
                    Some(_) => Ok(Value::Int(model.record(&key, count))),
                    None => Err(errors::not_in_pool(&key, &pool)),
                };
                (
                    vec!["GPOOL.RECORD".into(), pool.clone(), key, count.to_string()],
                    want,
                )
            };

            let reply = call(&mut con, &words);
            history.push(words.join(" "));
            let recent = history[history.len().saturating_sub(12)..].join("\n  ");
            assert_eq!(
                reply, expected,
                "round {round}, command {commands}: {}\nlast commands:\n  {recent}\nmodel: {model:#?}",
                words.join(" ")
            );

            for c in CLASSES {
                let ring_index = |p: i64| model.ring.iter().position(|(q, _)| *q == p).unwrap();
                for (first, last) in model.runs(c) {
                    longest_run = longest_run.max(ring_index(last) - ring_index(first) + 1);
                }
            }

            let dump = common::dump_matching(&mut con, &format!("gpool:{{{pool}}}:*")).unwrap();
            if let Some(diff) = layout_difference(&dump, &model.layout(&pool)) {
                panic!(
                    "round {round}, after command {commands} ({}): the keys differ from the \
                     model:\n{diff}last commands:\n  {recent}",
                    words.join(" ")
                );
            }
        }

        // The read-only views agree with the model too.
        let st = common::status(&mut con, &pool);
        assert_eq!(
            st.keys,
            model.ring.len() as i64,
            "round {round}: STATUS keys"
        );
        for (class, (active, spent)) in &st.classes {
            let n = model
                .ring
                .iter()
                .filter(|(_, k)| model.is_spent(class, k))
                .count() as i64;
            assert_eq!(
                (*active, *spent),
                (st.keys - n, n),
                "round {round}: class {class}"
            );
        }
        let known: Vec<&String> = model.cursor.keys().collect();
        assert_eq!(
            st.classes.keys().collect::<Vec<_>>(),
            known,
            "round {round}: classes"
        );
        let keys: Vec<&str> = universe.iter().map(String::as_str).collect();
        let want: Vec<i64> = keys
            .iter()
            .map(|k| model.usage.get(*k).copied().unwrap_or(0))
            .collect();
        assert_eq!(
            common::usage_of(&mut con, &pool, &keys),
            want,
            "round {round}: USAGE"
        );
    }
    assert_eq!(text(&call(&mut con, &["PING"]).unwrap()), "PONG");
    assert!(commands >= 3000, "{commands} commands");
    assert!(nils >= 20, "NEXT answered nil {nils} times");
    assert!(spent_removed >= 20, "{spent_removed} spent keys removed");
    assert!(
        longest_run >= 5,
        "the longest run of spent keys had {longest_run} keys"
    );
}
