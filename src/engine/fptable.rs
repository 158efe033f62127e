//! The visited set of the breadth-first search: 64-bit fingerprints in open-addressed tables
//! that any number of threads probe and fill at once without locks.
//!
//! Beside each fingerprint sits one 32-bit word. While a BFS level is being expanded the word
//! holds a *claim*: the smallest parent (by state index) that has reached the state so far, so
//! that the state is credited to the parent and action a single-threaded BFS would have found
//! first, whatever the threads' timing. Once the level is numbered, the word holds the state's
//! index ([`FpTable::settle`]). Five slots share a 64-byte bucket (12.8 bytes a slot), so a
//! probe reads one cache line; a shard is at most 85% full.
//!
//! The table is split into [`SHARDS`] shards by the fingerprint's top bits. A shard that
//! reaches 85% full raises a flag; the search then pauses its threads at a state boundary and
//! [`FpTable::grow`] grows the full shards by half, one at a time, so growing needs at most one
//! shard's worth of extra memory, never a second copy of the whole table.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};

/// Number of shards (a power of two).
pub const SHARDS: usize = 64;
const SHARD_BITS: u32 = SHARDS.trailing_zeros();
/// Slots per bucket: a bucket is one 64-byte cache line.
const SLOTS: usize = 5;
const INITIAL_BUCKETS: usize = 256;
/// A settled word: this bit, then the state's index.
const SETTLED: u32 = 1 << 31;
/// A claim by parent `p` is stored as `CLAIM - p`: larger for smaller parents, so `fetch_max`
/// keeps the smallest; 0 is "no claim yet".
const CLAIM: u32 = SETTLED - 1;
/// The largest parent index a claim can name (and the largest state index).
pub const MAX_INDEX: u32 = CLAIM - 1;

/// Five fingerprints and their words in one cache line, so a probe touches one line.
#[repr(C, align(64))]
struct Bucket {
    fps: [AtomicU64; SLOTS],
    words: [AtomicU32; SLOTS],
}

/// Bytes of a transparent huge page.
const HUGE_PAGE: usize = 2 << 20;

/// A shard's buckets, zeroed. A probe lands anywhere in the table, so with 4 KiB pages nearly
/// every probe would also miss the TLB: an array of 2 MiB or more is aligned to 2 MiB and its
/// whole 2 MiB pages are offered to Linux's transparent huge pages.
struct Buckets {
    ptr: std::ptr::NonNull<Bucket>,
    len: usize,
}

// SAFETY: the buckets are atomics; `Buckets` owns its allocation like a `Box<[Bucket]>`.
unsafe impl Send for Buckets {}
// SAFETY: as above.
unsafe impl Sync for Buckets {}

impl Buckets {
    fn new(len: usize) -> Self {
        let len = len.max(1);
        let layout = Self::layout(len);
        // SAFETY: the layout has a nonzero size.
        let raw = unsafe { std::alloc::alloc(layout) };
        let Some(ptr) = std::ptr::NonNull::new(raw.cast::<Bucket>()) else {
            std::alloc::handle_alloc_error(layout)
        };
        // The advice must come before the first touch, so the pages are faulted in huge.
        // Only whole huge pages: a huge page over the ragged end would be resident in full.
        #[cfg(target_os = "linux")]
        if layout.align() == HUGE_PAGE {
            let whole = layout.size() / HUGE_PAGE * HUGE_PAGE;
            // SAFETY: advice on memory this allocation owns; failure only means small pages.
            unsafe { libc::madvise(raw.cast(), whole, libc::MADV_HUGEPAGE) };
        }
        // SAFETY: `raw` holds `layout.size()` bytes; zeroed memory is valid for atomics.
        unsafe { std::ptr::write_bytes(raw, 0, layout.size()) };
        Buckets { ptr, len }
    }

    fn layout(len: usize) -> std::alloc::Layout {
        let bytes = len * std::mem::size_of::<Bucket>();
        let align = if bytes >= HUGE_PAGE { HUGE_PAGE } else { 64 };
        std::alloc::Layout::from_size_align(bytes, align).expect("a bucket array's layout")
    }
}

impl std::ops::Deref for Buckets {
    type Target = [Bucket];
    fn deref(&self) -> &[Bucket] {
        // SAFETY: `ptr` holds `len` initialized buckets for as long as `self` lives.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl std::ops::DerefMut for Buckets {
    fn deref_mut(&mut self) -> &mut [Bucket] {
        // SAFETY: as above, and `&mut self` is unique.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for Buckets {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr().cast(), Self::layout(self.len)) }
    }
}

/// A counter on a cache line of its own, away from the bucket pointer every probe reads.
#[repr(align(64))]
#[derive(Default)]
struct Counter(AtomicUsize);

struct Shard {
    buckets: Buckets,
    len: Counter,
}

impl Shard {
    fn new(buckets: usize) -> Self {
        Shard {
            buckets: Buckets::new(buckets),
            len: Counter::default(),
        }
    }

    fn slots(&self) -> usize {
        self.buckets.len() * SLOTS
    }

    /// Full at 85%: buckets of five keep probes short up to there.
    fn full(&self) -> bool {
        self.len.0.load(Relaxed) * 20 > self.slots() * 17
    }

    /// Worth growing along with a full one, at 70%, so that growing pauses the search less
    /// often.
    fn filling(&self) -> bool {
        self.len.0.load(Relaxed) * 20 > self.slots() * 14
    }

    /// The same fingerprints in a table half as large again.
    fn grown(&mut self) -> Shard {
        let bigger = Shard::new(self.buckets.len() * 3 / 2);
        for bucket in self.buckets.iter_mut() {
            for (fp, word) in bucket.fps.iter_mut().zip(bucket.words.iter_mut()) {
                let fp = *fp.get_mut();
                if fp != 0 {
                    bigger.slot(fp).0.store(*word.get_mut(), Relaxed);
                }
            }
        }
        bigger.len.0.store(*self.len.0.get_mut(), Relaxed);
        bigger
    }

    /// The first bucket to probe: the fingerprint's bits below the shard's, scaled to the
    /// bucket count (any count, so the table grows by half, not by doubling).
    fn home(&self, fp: u64) -> usize {
        (((fp << SHARD_BITS) as u128 * self.buckets.len() as u128) >> 64) as usize
    }

    /// The slot of `fp`, inserting it if absent; whether it was inserted.
    fn slot(&self, fp: u64) -> (&AtomicU32, bool) {
        let mut b = self.home(fp);
        for _ in 0..self.buckets.len() {
            let bucket = &self.buckets[b];
            for (slot, word) in bucket.fps.iter().zip(&bucket.words) {
                let cur = slot.load(Relaxed);
                if cur == fp {
                    return (word, false);
                }
                if cur == 0 {
                    match slot.compare_exchange(0, fp, Relaxed, Relaxed) {
                        Ok(_) => return (word, true),
                        Err(other) if other == fp => return (word, false),
                        Err(_) => {}
                    }
                }
            }
            b = if b + 1 == self.buckets.len() {
                0
            } else {
                b + 1
            };
        }
        // The search grows a shard at 85% full, between states; only a single state with
        // tens of thousands of successors could fill one first.
        panic!("a fingerprint shard of {} slots is full", self.slots())
    }

    fn find(&self, fp: u64) -> Option<&AtomicU32> {
        let mut b = self.home(fp);
        for _ in 0..self.buckets.len() {
            let bucket = &self.buckets[b];
            for (slot, word) in bucket.fps.iter().zip(&bucket.words) {
                match slot.load(Relaxed) {
                    0 => return None,
                    cur if cur == fp => return Some(word),
                    _ => {}
                }
            }
            b = if b + 1 == self.buckets.len() {
                0
            } else {
                b + 1
            };
        }
        None
    }
}

/// What a claim on a fingerprint found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// The state was reached in an earlier level: its index, if it was settled.
    Seen(Option<u32>),
    /// A parent no later than this one already claims it in this level.
    Taken,
    /// This parent is now the state's earliest: keep the successor. `displaced` is the parent
    /// whose claim this one replaced, whose successor is now a duplicate.
    Won {
        /// The parent that claimed the state before, if any.
        displaced: Option<u32>,
    },
}

/// Insertions a thread made and has not yet added to the shards' counts: a shared counter
/// updated on every insertion would bounce between the cores' caches.
pub struct Inserts([u32; SHARDS]);

impl Default for Inserts {
    fn default() -> Self {
        Inserts([0; SHARDS])
    }
}

/// Insertions a thread counts before adding them to the shard's count.
const BATCH: u32 = 32;

/// The visited set: fingerprint → claim or state index.
pub struct FpTable {
    shards: Vec<Shard>,
    full: AtomicBool,
}

impl Default for FpTable {
    fn default() -> Self {
        FpTable {
            shards: (0..SHARDS).map(|_| Shard::new(INITIAL_BUCKETS)).collect(),
            full: AtomicBool::new(false),
        }
    }
}

/// 0 marks an empty slot, so a fingerprint of 0 is stored as 1.
fn key(fp: u64) -> u64 {
    fp.max(1)
}

impl FpTable {
    fn shard_of(fp: u64) -> usize {
        (fp >> (64 - SHARD_BITS)) as usize
    }

    fn shard(&self, fp: u64) -> &Shard {
        &self.shards[Self::shard_of(fp)]
    }

    fn count(&self, shard: usize, n: u32) {
        let s = &self.shards[shard];
        s.len.0.fetch_add(n as usize, Relaxed);
        if s.full() {
            self.full.store(true, Relaxed);
        }
    }

    /// Adds a thread's uncounted insertions to the shards' counts.
    pub fn flush(&self, inserts: &mut Inserts) {
        for (shard, n) in inserts.0.iter_mut().enumerate() {
            if *n > 0 {
                self.count(shard, std::mem::take(n));
            }
        }
    }

    /// Records that `parent` (a state index, or an initial state's index in `init_states()`
    /// for the first level) reaches the state with fingerprint `fp`. `first` is the first
    /// index of the parent's level: an unsettled claim by an earlier parent is from an earlier
    /// level, so the state was reached before (only states the search needs the index of are
    /// settled; the initial level always is).
    pub fn claim(&self, fp: u64, parent: u32, first: u32, inserts: &mut Inserts) -> Claim {
        let fp = key(fp);
        let s = Self::shard_of(fp);
        let (word, inserted) = self.shards[s].slot(fp);
        if inserted {
            inserts.0[s] += 1;
            if inserts.0[s] == BATCH {
                inserts.0[s] = 0;
                self.count(s, BATCH);
            }
        }
        let want = CLAIM - parent;
        let earlier = CLAIM - first;
        let seen = |w: u32| {
            if w >= SETTLED {
                Some(Claim::Seen(Some(w & !SETTLED)))
            } else if w > earlier {
                Some(Claim::Seen(None))
            } else if w >= want {
                Some(Claim::Taken)
            } else {
                None
            }
        };
        if let Some(claim) = seen(word.load(Relaxed)) {
            return claim;
        }
        match word.fetch_max(want, Relaxed) {
            prev if seen(prev).is_some() => seen(prev).unwrap_or(Claim::Taken),
            0 => Claim::Won { displaced: None },
            prev => Claim::Won {
                displaced: Some(CLAIM - prev),
            },
        }
    }

    /// Asks the processor to load `fp`'s first bucket into cache, ahead of its claim.
    pub fn prefetch(&self, fp: u64) {
        #[cfg(target_arch = "x86_64")]
        {
            let fp = key(fp);
            let shard = self.shard(fp);
            let bucket: *const Bucket = &shard.buckets[shard.home(fp)];
            // SAFETY: a prefetch is only a hint; the pointer is to a live bucket anyway.
            unsafe {
                std::arch::x86_64::_mm_prefetch(bucket as *const i8, std::arch::x86_64::_MM_HINT_T0)
            };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = fp;
    }

    /// Whether `fp` is in the table (claimed or numbered).
    pub fn contains(&self, fp: u64) -> bool {
        let fp = key(fp);
        self.shard(fp).find(fp).is_some()
    }

    /// The index of the numbered state with fingerprint `fp`.
    pub fn index(&self, fp: u64) -> Option<u32> {
        let fp = key(fp);
        let w = self.shard(fp).find(fp)?.load(Relaxed);
        (w >= SETTLED).then_some(w & !SETTLED)
    }

    /// Numbers the claimed state with fingerprint `fp`.
    pub fn settle(&self, fp: u64, index: u32) {
        let fp = key(fp);
        if let Some(word) = self.shard(fp).find(fp) {
            word.store(SETTLED | index, Relaxed);
        }
    }

    /// Whether a shard is 85% full: grow before inserting more.
    pub fn needs_growing(&self) -> bool {
        self.full.load(Relaxed)
    }

    /// Grows every shard that is full or nearly, by half, each on one of `threads` threads,
    /// freeing each old shard as soon as it is copied. Every thread must have flushed its
    /// insertions.
    pub fn grow(&mut self, threads: usize) {
        let mut due: Vec<&mut Shard> = self.shards.iter_mut().filter(|s| s.filling()).collect();
        let per_thread = due.len().div_ceil(threads.max(1)).max(1);
        std::thread::scope(|scope| {
            for part in due.chunks_mut(per_thread) {
                // A part whose thread cannot be created is grown below, on this thread.
                let _ = std::thread::Builder::new().spawn_scoped(scope, move || {
                    for shard in part {
                        while shard.filling() {
                            **shard = shard.grown();
                        }
                    }
                });
            }
        });
        for shard in &mut self.shards {
            while shard.filling() {
                *shard = shard.grown();
            }
        }
        *self.full.get_mut() = false;
    }

    /// Fingerprints stored (the search counts its states itself; the tests count the table's).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.shards.iter().map(|s| s.len.0.load(Relaxed)).sum()
    }

    /// Bytes held by the table.
    pub fn bytes(&self) -> usize {
        self.shards.iter().map(|s| s.buckets.len() * 64).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_earliest_parent_wins_whatever_the_order() {
        let t = FpTable::default();
        let i = &mut Inserts::default();
        assert_eq!(t.claim(42, 7, 0, i), Claim::Won { displaced: None });
        assert_eq!(t.claim(42, 9, 0, i), Claim::Taken);
        assert_eq!(t.claim(42, 7, 0, i), Claim::Taken);
        assert_eq!(t.claim(42, 3, 0, i), Claim::Won { displaced: Some(7) });
        // From the next level (first index 10), an earlier claim means reached before.
        assert_eq!(t.claim(42, 12, 10, i), Claim::Seen(None));
        t.settle(42, 100);
        assert_eq!(t.claim(42, 1, 0, i), Claim::Seen(Some(100)));
        t.flush(i);
        assert_eq!(t.len(), 1);
        assert_eq!(t.index(42), Some(100));
        assert_eq!(t.index(43), None);
        assert!(t.contains(0) == t.contains(1));
    }

    #[test]
    fn growing_keeps_every_entry() {
        let mut t = FpTable::default();
        let i = &mut Inserts::default();
        let fps: Vec<u64> = (1..200_000u64)
            .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
            .collect();
        for (n, &fp) in fps.iter().enumerate() {
            assert_eq!(t.claim(fp, 5, 0, i), Claim::Won { displaced: None });
            t.settle(fp, n as u32);
            if t.needs_growing() {
                t.flush(i);
                t.grow(n % 3 + 1);
            }
        }
        t.flush(i);
        assert_eq!(t.len(), fps.len());
        for (n, &fp) in fps.iter().enumerate() {
            assert_eq!(t.index(fp), Some(n as u32));
        }
        assert!(t.shards.iter().all(|s| !s.full()));
        assert_eq!(std::mem::size_of::<Bucket>(), 64);
    }

    #[test]
    fn threads_agree_on_the_earliest_parent() {
        let t = FpTable::default();
        std::thread::scope(|s| {
            for parent in 0..4u32 {
                let t = &t;
                s.spawn(move || {
                    let i = &mut Inserts::default();
                    for fp in 1..500u64 {
                        t.claim(fp, parent * 10 + (fp % 3) as u32, 0, i);
                    }
                    t.flush(i);
                });
            }
        });
        assert_eq!(t.len(), 499);
        let i = &mut Inserts::default();
        for fp in 1..500u64 {
            let earliest = (fp % 3) as u32;
            assert_eq!(t.claim(fp, earliest, 0, i), Claim::Taken);
            if earliest > 0 {
                assert_eq!(
                    t.claim(fp, 0, 0, i),
                    Claim::Won {
                        displaced: Some(earliest)
                    }
                );
            }
        }
    }
}
