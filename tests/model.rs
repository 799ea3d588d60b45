//! A property test of random operations on a `Store<R>` against a `Vec<R>` model (as
//! redb fuzzes against a `BTreeMap`): push, set in place, truncate, extend, flush, reopen,
//! reserve, shrink_to_fit, and a second, read-only handle that must see exactly the
//! state as of the last commit (a flush, a drop, or a shrink_to_fit).

use fixrec::{Error, FixedStr, Growth, ReadOnly, Store, StoreOptions, record};
use proptest::prelude::*;
use std::path::Path;

record! {
    #[repr(C)]
    #[derive(Debug, PartialEq)]
    pub struct Rec {
        pub key: u32,
        pub tag: FixedStr<12>,
    }
}

fn rec(key: u32) -> Rec {
    Rec {
        key,
        tag: FixedStr::new(&format!("t{key}")).unwrap(),
    }
}

#[derive(Clone, Debug)]
enum Op {
    Push(u32),
    /// Sets record `index % len`.
    Set(usize, u32),
    /// Truncates to `n % (len + 3)`, so sometimes to more than len.
    Truncate(usize),
    Extend(Vec<u32>),
    Flush,
    /// Drops the writer (which commits) and opens it again with this growth policy.
    Reopen(Growth),
    Reserve(usize),
    ShrinkToFit,
    /// Opens the reader if it is closed, else closes it.
    ToggleReader,
    RefreshReader,
}

fn op() -> impl Strategy<Value = Op> {
    let growth = prop_oneof![Just(Growth::Double), (1u64..8).prop_map(Growth::Step)];
    prop_oneof![
        8 => any::<u32>().prop_map(Op::Push),
        4 => (any::<usize>(), any::<u32>()).prop_map(|(i, k)| Op::Set(i, k)),
        2 => any::<usize>().prop_map(Op::Truncate),
        3 => prop::collection::vec(any::<u32>(), 0..40).prop_map(Op::Extend),
        3 => Just(Op::Flush),
        2 => growth.prop_map(Op::Reopen),
        1 => (0usize..100).prop_map(Op::Reserve),
        1 => Just(Op::ShrinkToFit),
        2 => Just(Op::ToggleReader),
        3 => Just(Op::RefreshReader),
    ]
}

/// What the model knows about the file.
struct Model {
    /// The writer's records: what `as_slice` must return.
    records: Vec<Rec>,
    /// The data region's contents below the highest index ever written (a truncate does
    /// not erase bytes; a reader below the committed len sees them).
    region: Vec<Rec>,
    /// The len of the last commit: what a reader sees after `refresh`.
    committed: usize,
}

impl Model {
    fn write(&mut self, i: usize, r: Rec) {
        if i < self.records.len() {
            self.records[i] = r;
        } else {
            self.records.push(r);
        }
        if i < self.region.len() {
            self.region[i] = r;
        } else {
            self.region.push(r);
        }
    }

    fn commit(&mut self) {
        self.committed = self.records.len();
    }
}

fn check_writer(s: &Store<Rec>, m: &Model) -> Result<(), TestCaseError> {
    prop_assert_eq!(s.len(), m.records.len());
    prop_assert!(s.capacity() >= s.len());
    prop_assert_eq!(s.as_slice(), &m.records[..]);
    Ok(())
}

fn check_reader(r: &Store<Rec, ReadOnly>, m: &Model) -> Result<(), TestCaseError> {
    prop_assert_eq!(r.len(), m.committed, "a reader sees the committed len");
    prop_assert_eq!(r.as_slice(), &m.region[..m.committed]);
    Ok(())
}

fn run(path: &Path, initial_capacity: u64, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut s: Store<Rec> = StoreOptions::new()
        .capacity(initial_capacity)
        .create(path)
        .unwrap();
    let mut m = Model {
        records: Vec::new(),
        region: Vec::new(),
        committed: 0,
    };
    let mut reader: Option<Store<Rec, ReadOnly>> = None;
    for op in ops {
        match op {
            Op::Push(k) => {
                let i = s.push(rec(k)).unwrap();
                prop_assert_eq!(i, m.records.len());
                m.write(i, rec(k));
            }
            Op::Set(i, k) => {
                if m.records.is_empty() {
                    prop_assert!(s.get_mut(0).is_none());
                    continue;
                }
                let i = i % m.records.len();
                *s.get_mut(i).unwrap() = rec(k);
                m.write(i, rec(k));
            }
            Op::Truncate(n) => {
                let n = n % (m.records.len() + 3);
                s.truncate(n);
                m.records.truncate(n);
            }
            Op::Extend(keys) => {
                let recs: Vec<Rec> = keys.iter().map(|&k| rec(k)).collect();
                s.extend_from_slice(&recs).unwrap();
                for r in recs {
                    m.write(m.records.len(), r);
                }
            }
            Op::Flush => {
                s.flush().unwrap();
                m.commit();
            }
            Op::Reopen(growth) => {
                drop(s);
                m.commit();
                s = StoreOptions::new().growth(growth).open(path).unwrap();
            }
            Op::Reserve(n) => {
                s.reserve(n).unwrap();
                prop_assert!(s.capacity() >= m.records.len() + n);
            }
            Op::ShrinkToFit => match s.shrink_to_fit() {
                Ok(()) => {
                    prop_assert_eq!(s.capacity(), m.records.len());
                    m.commit();
                    m.region.truncate(m.records.len());
                }
                Err(Error::InUse { .. }) => {
                    prop_assert!(reader.is_some(), "InUse with no other handle");
                }
                Err(e) => return Err(TestCaseError::fail(format!("shrink_to_fit: {e}"))),
            },
            Op::ToggleReader => {
                reader = match reader.take() {
                    Some(_) => None,
                    None => {
                        let r = Store::<Rec>::open_read_only(path).unwrap();
                        check_reader(&r, &m)?;
                        Some(r)
                    }
                };
            }
            Op::RefreshReader => {
                if let Some(r) = &mut reader {
                    r.refresh().unwrap();
                    check_reader(r, &m)?;
                }
            }
        }
        check_writer(&s, &m)?;
    }
    drop(reader);
    drop(s);
    m.commit();
    let s = Store::<Rec>::open(path).unwrap();
    check_writer(&s, &m)?;
    s.verify().unwrap();
    let r = Store::<Rec>::open_read_only(path).unwrap();
    check_reader(&r, &m)?;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        // Failures are shrunk and printed; pin one as a named test rather than keep
        // a regressions file in the tree.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn store_matches_a_vec_model(
        initial_capacity in 0u64..6,
        ops in prop::collection::vec(op(), 1..60),
    ) {
        let d = tempfile::tempdir().unwrap();
        run(&d.path().join("model.fxr"), initial_capacity, ops)?;
    }
}

/// Found by the model: `shrink_to_fit` says it commits, also when the capacity already
/// equals len.
#[test]
fn shrink_to_fit_commits_even_when_there_is_nothing_to_cut() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("m.fxr");
    run(
        &path,
        2,
        vec![
            Op::Push(1),
            Op::Push(2),
            Op::ToggleReader,
            Op::ShrinkToFit,
            Op::RefreshReader,
        ],
    )
    .unwrap();
}
