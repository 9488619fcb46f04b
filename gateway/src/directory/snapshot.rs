//! One immutable snapshot of the organisation's users, indexed for the
//! users list.
//!
//! Built once per refresh from Podero's bare array: per user a folded
//! (lower-case, accent-free) search text over name, e-mail, customer number
//! and town, two bytes of facts the filters ask about ([`Facts`]), and per
//! sort column the order of all users. A query answers in three steps, so
//! that a million users cost milliseconds, not a walk of every row:
//!
//! 1. search words, into a bit set of the users whose text holds them all:
//!    a one-byte word from the per-byte bit sets, a two-byte word from the
//!    bit sets of the byte pairs held by at least 1/16 of the users; a
//!    keystroke that extends a remembered search with few matches is
//!    checked only in those; a longer word only in the users holding all
//!    its indexed pairs, when they are at most a quarter of all; otherwise
//!    one `memmem` pass of the longest word over the whole search text (all
//!    users' texts one after the other; split over the cores when large),
//!    the other words checked in the users it hits;
//! 2. the total: with no filter but the archived one, a count of the set
//!    bits of (matches AND archived-or-not); otherwise the facts (and the
//!    bit set) of every user, in storage order — two bytes per user;
//! 3. the page: walk the precomputed sort order, skipping users that do
//!    not match, and stop as soon as the page is full (or the last match
//!    is on it).
//!
//! No sorting and no allocation per user at request time.

use std::cmp::Ordering;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use shared::directory::{fold, fold_into, Archived, SortKey, UserQuery};
use shared::User;
use uuid::Uuid;

use super::rows::{RowRef, Rows};

/// The users and their indexes.
#[derive(Debug)]
pub struct Snapshot {
    users: Rows,
    /// Folded search text of all users, one after the other; user `i`'s
    /// ends at `hay_ends[i]`. Fields are separated by `\u{1f}` so a word
    /// never matches across two fields.
    hay: String,
    hay_ends: Vec<u32>,
    /// What the filters ask about each user, in storage order.
    facts: Vec<Facts>,
    /// Ascending order of user indexes per [`SortKey`] (index = position
    /// in [`SortKey::ALL`]).
    orders: Vec<Box<[u32]>>,
    /// User indexes in the order of their ids (for [`Snapshot::get`]).
    by_id: Box<[u32]>,
    /// Per byte value: the users whose search text holds it (only the
    /// bytes that occur).
    by_byte: Vec<Option<Bits>>,
    /// Per pair of bytes held by at least 1/16 of the users (about 200 in
    /// the emulator's names, at most [`MAX_PAIRS`]): those users,
    /// found through `pair_slot` (indexed by the pair as a `u16`,
    /// `u16::MAX` when not indexed).
    by_pair: Vec<Bits>,
    pair_slot: Box<[u16]>,
    /// The archived users.
    archived_bits: Bits,
    /// The last searches with few matches (newest first): a keystroke that
    /// adds to their words is looked for only in their matches.
    recent: std::sync::Mutex<std::collections::VecDeque<Narrow>>,
    pub loaded_at: DateTime<Utc>,
    pub active: usize,
    pub archived: usize,
}

/// What the list's filters ask about one user, in two bytes: archived,
/// onboarded, which device types it has, its role.
#[derive(Debug, Clone, Copy)]
struct Facts(u16);

impl Facts {
    const ARCHIVED: u16 = 1;
    const ONBOARDED: u16 = 1 << 1;
    /// Bits 2..6: has a device of `DeviceKind::ALL[i]`.
    const KINDS: u16 = 2;
    /// Bits 8..: the position of the role in `Role::ALL`.
    const ROLE: u16 = 8;

    fn of(u: RowRef) -> Facts {
        let mut f = 0;
        if u.is_archived() {
            f |= Self::ARCHIVED;
        }
        if u.is_onboarded() == Some(true) {
            f |= Self::ONBOARDED;
        }
        for (i, k) in shared::DeviceKind::ALL.into_iter().enumerate() {
            if u.count_of(k) > 0 {
                f |= 1 << (Self::KINDS + i as u16);
            }
        }
        let role = shared::Role::ALL
            .iter()
            .position(|r| *r == u.role())
            .unwrap_or(0) as u16;
        Facts(f | role << Self::ROLE)
    }

    fn archived(self) -> bool {
        self.0 & Self::ARCHIVED != 0
    }

    fn onboarded(self) -> bool {
        self.0 & Self::ONBOARDED != 0
    }

    fn count_of(self, kind: shared::DeviceKind) -> u32 {
        let i = shared::DeviceKind::ALL
            .iter()
            .position(|k| *k == kind)
            .unwrap_or(0) as u16;
        u32::from(self.0 & (1 << (Self::KINDS + i)) != 0)
    }

    fn role(self) -> shared::Role {
        shared::Role::ALL[usize::from(self.0 >> Self::ROLE) % shared::Role::ALL.len()]
    }
}

/// One bit per user.
#[derive(Debug, Clone)]
struct Bits(Vec<u64>);

impl Bits {
    fn new(n: usize) -> Self {
        Bits(vec![0; n.div_ceil(64)])
    }
    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    fn get(&self, i: usize) -> bool {
        self.0[i / 64] & (1 << (i % 64)) != 0
    }
    /// Keep only the bits also set in `other`.
    fn and(&mut self, other: &Bits) {
        self.0.iter_mut().zip(&other.0).for_each(|(a, b)| *a &= b);
    }
    /// How many bits are set.
    fn count(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }
    /// The set bits, in order.
    fn ones(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().enumerate().flat_map(|(k, word)| {
            let mut w = *word;
            std::iter::from_fn(move || {
                (w != 0).then(|| {
                    let bit = w.trailing_zeros();
                    w &= w - 1;
                    (k * 64) as u32 + bit
                })
            })
        })
    }
}

/// How many pairs of bytes are indexed at most (the most common ones).
const MAX_PAIRS: usize = 256;

/// `value` in the gateway; `in_tests` in unit tests, where it makes small
/// snapshots take every path (narrowing, checking candidates, threads).
fn tuned(value: usize, in_tests: usize) -> usize {
    if cfg!(test) {
        in_tests
    } else {
        value
    }
}

/// Candidates from the pairs are checked one by one when at most a
/// quarter of the users; more, and one pass over all texts is cheaper.
fn check_limit(n: usize) -> usize {
    tuned(n / 4, n)
}

/// A search with at most 1/16 of the users matching is remembered (at a
/// million, at most 32 × 250 KB).
fn narrow_limit(n: usize) -> usize {
    tuned(n / 16, n)
}

/// Whether a search is split over threads now: one at a time, so that
/// many searches at once do not each start threads on cores that are
/// busy anyway.
static SPLITTING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// How many threads search a text of `len` bytes: one below 4 MiB (about
/// 60,000 users) or while another search is split, else one per core, at
/// most four; the returned guard ends the split when dropped.
fn search_threads(len: usize) -> (usize, Option<impl Drop>) {
    use std::sync::atomic::Ordering::{AcqRel, Acquire, Release};
    struct Split;
    impl Drop for Split {
        fn drop(&mut self) {
            SPLITTING.store(false, Release);
        }
    }
    let cores = std::thread::available_parallelism().map_or(1, |p| p.get().min(4));
    let wanted = tuned(if len < 4 << 20 { 1 } else { cores }, 3);
    if wanted > 1
        && SPLITTING
            .compare_exchange(false, true, AcqRel, Acquire)
            .is_ok()
    {
        (wanted, Some(Split))
    } else {
        (1, None)
    }
}

/// A search's words and the users it matched, in storage order.
#[derive(Debug)]
struct Narrow {
    words: Vec<String>,
    users: std::sync::Arc<[u32]>,
}

/// How many searches [`Snapshot::search`] remembers.
const RECENT: usize = 32;

/// Set bit `i` of a bit set's words `words` whose first bit is user
/// `first` (a multiple of 64).
fn set_in(words: &mut [u64], first: usize, i: usize) {
    let i = i - first;
    words[i / 64] |= 1 << (i % 64);
}

/// `None` sorts after every value, in both directions of the key itself.
fn opt_cmp<T: Ord>(a: &Option<T>, b: &Option<T>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.cmp(b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

fn name_key(u: RowRef) -> String {
    match (u.last_name(), u.first_name()) {
        (Some(l), f) if !l.trim().is_empty() => {
            let f = f.unwrap_or("").trim();
            let mut key = String::with_capacity(l.len() + f.len() + 1);
            fold_into(l.trim(), &mut key);
            key.push('\u{1}');
            fold_into(f, &mut key);
            key
        }
        _ => fold(&User::name_of(u.first_name(), u.last_name(), u.email())),
    }
}

/// Sort `idx` by `keys` (one per user), users with equal keys in storage
/// order.
fn sort_by_keys<K: Ord>(idx: &mut [u32], keys: &[K]) {
    idx.sort_unstable_by(|a, b| keys[*a as usize].cmp(&keys[*b as usize]).then(a.cmp(b)));
}

/// [`sort_by_keys`] with `None` last.
fn sort_by_opt_keys<K: Ord>(idx: &mut [u32], keys: &[Option<K>]) {
    idx.sort_unstable_by(|a, b| opt_cmp(&keys[*a as usize], &keys[*b as usize]).then(a.cmp(b)));
}

fn sort_order(users: &Rows, key: SortKey) -> Box<[u32]> {
    let mut idx: Vec<u32> = (0..users.len() as u32).collect();
    match key {
        SortKey::Name => {
            let keys: Vec<String> = users.iter().map(name_key).collect();
            sort_by_keys(&mut idx, &keys);
        }
        SortKey::Email => {
            let keys: Vec<String> = users
                .iter()
                .map(|u| match u.email() {
                    e if e.is_ascii() => e.to_ascii_lowercase(),
                    e => e.to_lowercase(),
                })
                .collect();
            sort_by_keys(&mut idx, &keys);
        }
        SortKey::ExternalId => {
            let keys: Vec<Option<String>> = users
                .iter()
                .map(|u| u.external_user_id().map(fold))
                .collect();
            sort_by_opt_keys(&mut idx, &keys);
        }
        SortKey::Town => {
            let keys: Vec<Option<String>> = users
                .iter()
                .map(|u| u.town().map(str::trim).filter(|t| !t.is_empty()).map(fold))
                .collect();
            sort_by_opt_keys(&mut idx, &keys);
        }
        SortKey::Role => {
            let keys: Vec<_> = users.iter().map(|u| u.role()).collect();
            sort_by_keys(&mut idx, &keys);
        }
        SortKey::Devices => {
            let keys: Vec<_> = users.iter().map(|u| u.num_devices()).collect();
            sort_by_keys(&mut idx, &keys);
        }
        SortKey::Joined => {
            let keys: Vec<_> = users.iter().map(|u| u.joined_key()).collect();
            sort_by_opt_keys(&mut idx, &keys);
        }
        SortKey::LastLogin => {
            let keys: Vec<_> = users.iter().map(|u| u.last_login_key()).collect();
            sort_by_opt_keys(&mut idx, &keys);
        }
    }
    idx.into_boxed_slice()
}

/// Append one user's folded search text to `hay`.
fn push_haystack(hay: &mut String, u: RowRef) {
    for part in [
        u.first_name(),
        u.last_name(),
        Some(u.email()),
        u.external_user_id(),
        u.town(),
    ]
    .into_iter()
    .flatten()
    {
        fold_into(part, hay);
        hay.push('\u{1f}');
    }
}

/// The result of a query: how many match and the page's users.
pub struct Matches<'a> {
    pub total: usize,
    page: Vec<u32>,
    snapshot: &'a Snapshot,
}

impl Matches<'_> {
    /// The users of the page (or of every match, for the export), built one
    /// at a time.
    pub fn users(&self) -> impl Iterator<Item = User> + '_ {
        self.page
            .iter()
            .map(|i| self.snapshot.users.get(*i).to_user())
    }
}

impl Snapshot {
    /// Index `users` (Podero's list with `include_deleted=true`). The sort
    /// orders are made on two threads.
    pub fn build(users: Rows, loaded_at: DateTime<Utc>) -> Snapshot {
        let (first, rest) = SortKey::ALL.split_at(SortKey::ALL.len() / 2);
        let (mut orders, (hay, hay_ends, by_byte, (by_pair, pair_slot))) =
            std::thread::scope(|s| {
                let other = s.spawn(|| {
                    first
                        .iter()
                        .map(|k| sort_order(&users, *k))
                        .collect::<Vec<_>>()
                });
                let text = search_text(&users);
                let mut orders = rest
                    .iter()
                    .map(|k| sort_order(&users, *k))
                    .collect::<Vec<_>>();
                let mut all = other
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e));
                all.append(&mut orders);
                (all, text)
            });
        orders.shrink_to_fit();
        let facts = users.iter().map(Facts::of).collect();
        let mut ids: Vec<(Uuid, u32)> = users.iter().map(|u| u.id()).zip(0..).collect();
        ids.sort_unstable();
        let by_id = ids.into_iter().map(|(_, i)| i).collect();
        let mut archived_bits = Bits::new(users.len());
        for (i, u) in users.iter().enumerate() {
            if u.is_archived() {
                archived_bits.set(i);
            }
        }
        let archived = archived_bits.count();
        Snapshot {
            active: users.len() - archived,
            archived,
            users,
            hay,
            hay_ends,
            facts,
            orders,
            by_id,
            by_byte,
            by_pair,
            pair_slot,
            archived_bits,
            recent: Default::default(),
            loaded_at,
        }
    }

    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    pub fn get(&self, id: Uuid) -> Option<User> {
        self.by_id
            .binary_search_by_key(&id, |i| self.users.get(*i).id())
            .ok()
            .map(|at| self.users.get(self.by_id[at]).to_user())
    }

    /// Every user (in Podero's order).
    pub fn users(&self) -> impl Iterator<Item = RowRef<'_>> {
        self.users.iter()
    }

    fn hay_start(&self, i: usize) -> usize {
        match i {
            0 => 0,
            i => self.hay_ends[i - 1] as usize,
        }
    }

    fn haystack(&self, i: u32) -> &str {
        &self.hay[self.hay_start(i as usize)..self.hay_ends[i as usize] as usize]
    }

    /// The users whose search text has every word, as a bit set: from the
    /// bytes' bit sets for one-byte words, among the matches of a
    /// remembered search whose every word is in one of `words` (each
    /// keystroke of a word typed), else by [`Snapshot::scan`].
    fn search(&self, words: &[String]) -> Bits {
        let n = self.users.len();
        if words.iter().all(|w| w.len() == 1) {
            // In nearly every user: answered from the bytes' bit sets
            // rather than found a million times, and not remembered.
            if let Some((bits, _)) = self.by_pairs(words) {
                return bits;
            }
        }
        let narrower = {
            let recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
            recent
                .iter()
                .filter(|r| {
                    r.words
                        .iter()
                        .all(|old| words.iter().any(|w| w.contains(old.as_str())))
                })
                .min_by_key(|r| r.users.len())
                .map(|r| r.users.clone())
        };
        let text_has_all = |i: &u32| {
            let text = self.haystack(*i);
            words.iter().all(|w| text.contains(w.as_str()))
        };
        let mut bits = Bits::new(n);
        let matched: Vec<u32> = match narrower {
            Some(users) => users.iter().copied().filter(text_has_all).collect(),
            None => {
                // The users holding every indexed pair of bytes of the
                // words: the answer when no word is longer than a pair,
                // else a short list to check.
                if let Some((candidates, exact)) = self.by_pairs(words) {
                    if exact {
                        bits = candidates;
                    } else if candidates.count() <= check_limit(n) {
                        for i in candidates.ones().filter(text_has_all) {
                            bits.set(i as usize);
                        }
                    } else {
                        self.scan(words, &mut bits);
                    }
                } else {
                    self.scan(words, &mut bits);
                }
                if bits.count() > narrow_limit(n) {
                    return bits;
                }
                bits.ones().collect()
            }
        };
        for i in &matched {
            bits.set(*i as usize);
        }
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        recent.retain(|r| r.words != words);
        recent.push_front(Narrow {
            words: words.to_vec(),
            users: matched.into(),
        });
        recent.truncate(RECENT);
        bits
    }

    /// The users holding the pair of bytes `pair`, if it is indexed.
    fn pair(&self, pair: &[u8]) -> Option<&Bits> {
        let slot = self.pair_slot[usize::from(pair[0]) << 8 | usize::from(pair[1])];
        self.by_pair.get(usize::from(slot))
    }

    /// The users holding every indexed pair of bytes (and every one-byte
    /// word's byte) of `words`, and whether that is exactly the users
    /// holding every word (no word longer than two bytes, each indexed).
    /// `None` when that is neither exact nor narrowed by a pair.
    fn by_pairs(&self, words: &[String]) -> Option<(Bits, bool)> {
        let mut candidates: Option<Bits> = None;
        let mut exact = true;
        let mut and = |b: &Bits| match &mut candidates {
            Some(c) => c.and(b),
            None => candidates = Some(b.clone()),
        };
        let mut any_pair = false;
        for w in words.iter().map(|w| w.as_bytes()) {
            if let [b] = w {
                match &self.by_byte[usize::from(*b)] {
                    Some(bits) => and(bits),
                    None => return Some((Bits::new(self.users.len()), true)),
                }
                continue;
            }
            exact &= w.len() == 2;
            for pair in w.windows(2) {
                match self.pair(pair) {
                    Some(bits) => {
                        any_pair = true;
                        and(bits);
                    }
                    None => exact = false,
                }
            }
        }
        candidates.filter(|_| any_pair || exact).map(|c| (c, exact))
    }

    /// Mark in `bits` the users whose text has every word: one pass of the
    /// longest word over the whole search text (split over the cores when
    /// large), the other words checked in the users it hits.
    fn scan(&self, words: &[String], bits: &mut Bits) {
        let Some((longest, _)) = words.iter().enumerate().max_by_key(|(_, w)| w.len()) else {
            return;
        };
        let (parts, _split) = search_threads(self.hay.len());
        // Each part is a run of whole 64-user words of the bit set.
        let words_per_part = bits.0.len().div_ceil(parts).max(1);
        std::thread::scope(|s| {
            let mut chunks = bits.0.chunks_mut(words_per_part).enumerate();
            let mine = chunks.next();
            for (p, chunk) in chunks {
                s.spawn(move || self.search_part(words, longest, p * words_per_part * 64, chunk));
            }
            if let Some((_, chunk)) = mine {
                self.search_part(words, longest, 0, chunk);
            }
        });
    }

    /// [`Snapshot::search`] over the users from `first` on whose bits are
    /// `out`: one pass of the longest word (`words[longest]`) over their
    /// search text, the other words checked in the users it hits.
    fn search_part(&self, words: &[String], longest: usize, first: usize, out: &mut [u64]) {
        let last = (first + out.len() * 64).min(self.users.len());
        if first >= last {
            return;
        }
        let (word, others) = (&words[longest], words.iter().enumerate());
        let finder = memchr::memmem::Finder::new(word.as_bytes());
        let hay = &self.hay.as_bytes()[..self.hay_ends[last - 1] as usize];
        let mut row = first;
        let mut from = self.hay_start(first);
        while let Some(offset) = finder.find(&hay[from..]) {
            let at = from + offset;
            while self.hay_ends[row] as usize <= at {
                row += 1;
            }
            let end = self.hay_ends[row] as usize;
            if at + word.len() > end {
                // Runs into the next user's text (only a word holding the
                // separator can): not a match here; look further.
                from = at + 1;
                continue;
            }
            // The longest word is in this user's text; the others are
            // checked.
            let text = self.haystack(row as u32);
            if others
                .clone()
                .all(|(n, w)| n == longest || text.contains(w.as_str()))
            {
                set_in(out, first, row);
            }
            // This user is decided: go on with the next one.
            from = end;
            if from >= hay.len() {
                break;
            }
        }
    }

    /// Walk the query's sort order, keep the matches of the requested page
    /// (all of them when `all` is set, for the CSV export). `lost` are the
    /// users with a lost device connection, for the `lost` filter.
    pub fn query<'a>(&'a self, q: &UserQuery, lost: &HashMap<Uuid, u32>, all: bool) -> Matches<'a> {
        let words: Vec<String> = fold(&q.q).split_whitespace().map(str::to_string).collect();
        let found = (!words.is_empty()).then(|| self.search(&words));
        let keep = |i: u32| {
            let f = self.facts[i as usize];
            let archived = match q.archived {
                Archived::Hide => !f.archived(),
                Archived::Include => true,
                Archived::Only => f.archived(),
            };
            archived
                && (q.roles.is_empty() || q.roles.contains(&f.role()))
                && q.device.is_none_or(|d| d.matches(|k| f.count_of(k)))
                && q.onboarded.is_none_or(|o| f.onboarded() == o)
                && found.as_ref().is_none_or(|b| b.get(i as usize))
                && (!q.lost || lost.get(&self.users.get(i).id()).is_some_and(|n| *n > 0))
        };
        let only_archived_filter =
            q.roles.is_empty() && q.device.is_none() && q.onboarded.is_none() && !q.lost;
        let total = if only_archived_filter {
            self.count(found.as_ref(), q.archived)
        } else {
            (0..self.users.len() as u32).filter(|i| keep(*i)).count()
        };
        let key_pos = SortKey::ALL.iter().position(|k| *k == q.sort).unwrap_or(0);
        let order = &self.orders[key_pos];
        let skip = if all {
            0
        } else {
            (q.page.max(1) as usize - 1).saturating_mul(q.per_page as usize)
        };
        // Stop at the page's last match, not at the end of the order.
        let take = if all {
            total
        } else {
            (q.per_page as usize).min(total.saturating_sub(skip))
        };
        let matching = |i: &&u32| keep(**i);
        let page: Vec<u32> = if take == 0 {
            Vec::new()
        } else if q.desc {
            order
                .iter()
                .rev()
                .filter(matching)
                .skip(skip)
                .take(take)
                .copied()
                .collect()
        } else {
            order
                .iter()
                .filter(matching)
                .skip(skip)
                .take(take)
                .copied()
                .collect()
        };
        Matches {
            total,
            page,
            snapshot: self,
        }
    }

    /// How many users are in `found` (all when `None`) and archived or
    /// not as `archived` asks: a count of bits, 64 users at a time.
    fn count(&self, found: Option<&Bits>, archived: Archived) -> usize {
        let n = self.users.len();
        let word = |w: usize| {
            let a = self.archived_bits.0[w];
            let side = match archived {
                Archived::Hide => !a,
                Archived::Include => u64::MAX,
                Archived::Only => a,
            };
            let valid = if (w + 1) * 64 > n {
                (1u64 << (n % 64)) - 1
            } else {
                u64::MAX
            };
            let hits = found.map_or(u64::MAX, |b| b.0[w]);
            (side & valid & hits).count_ones() as usize
        };
        (0..n.div_ceil(64)).map(word).sum()
    }
}

/// The folded search text of all users, where each user's ends, per byte
/// value the users whose text holds it, and per pair of bytes held by at
/// least 1/16 of the users those users.
#[allow(clippy::type_complexity)]
fn search_text(users: &Rows) -> (String, Vec<u32>, Vec<Option<Bits>>, (Vec<Bits>, Box<[u16]>)) {
    let n = users.len();
    let mut hay = String::new();
    let mut hay_ends = Vec::with_capacity(n);
    let mut by_byte: Vec<Option<Bits>> = vec![None; 256];
    // How many users hold each pair; `last` is the user (+ 1) that last
    // counted it, so a pair counts once per user.
    let mut pairs = vec![0u32; 1 << 16];
    let mut last = vec![0u32; 1 << 16];
    for (i, u) in users.iter().enumerate() {
        let start = hay.len();
        push_haystack(&mut hay, u);
        // A user's text ends with a separator, so no word matches across
        // two users.
        hay.push('\u{1f}');
        hay_ends.push(hay.len() as u32);
        let text = &hay.as_bytes()[start..];
        let mut seen = [false; 256];
        for b in text {
            seen[usize::from(*b)] = true;
        }
        for (b, _) in seen.iter().enumerate().filter(|(_, s)| **s) {
            by_byte[b].get_or_insert_with(|| Bits::new(n)).set(i);
        }
        for pair in text.windows(2) {
            let p = usize::from(pair[0]) << 8 | usize::from(pair[1]);
            if last[p] != i as u32 + 1 {
                last[p] = i as u32 + 1;
                pairs[p] += 1;
            }
        }
    }
    hay.shrink_to_fit();
    // The most common pairs, at most MAX_PAIRS of them, so that unusual
    // texts (long ones share many pairs) cannot grow the index past 256
    // bit sets (32 MB at a million users).
    let mut common: Vec<(u32, usize)> = pairs
        .iter()
        .enumerate()
        .filter(|(_, c)| **c as usize >= n.div_ceil(16).max(1))
        .map(|(p, c)| (*c, p))
        .collect();
    common.sort_unstable_by(|a, b| b.cmp(a));
    common.truncate(MAX_PAIRS);
    let mut slot = vec![u16::MAX; 1 << 16].into_boxed_slice();
    let mut by_pair = Vec::new();
    for (_, p) in common {
        slot[p] = by_pair.len() as u16;
        by_pair.push(Bits::new(n));
    }
    if !by_pair.is_empty() {
        for i in 0..n {
            let start = if i == 0 { 0 } else { hay_ends[i - 1] as usize };
            for pair in hay.as_bytes()[start..hay_ends[i] as usize].windows(2) {
                let s = slot[usize::from(pair[0]) << 8 | usize::from(pair[1])];
                if let Some(bits) = by_pair.get_mut(usize::from(s)) {
                    bits.set(i);
                }
            }
        }
    }
    (hay, hay_ends, by_byte, (by_pair, slot))
}

/// Columns of the CSV export, in order: the names of the English header
/// and of the catalog keys `csv.users.*` ([`csv_header`]).
pub const CSV_HEADER: [&str; 22] = [
    "id",
    "first_name",
    "last_name",
    "email",
    "customer_number",
    "role",
    "street_and_number",
    "street_add_info",
    "zip_code",
    "town",
    "country",
    "latitude",
    "longitude",
    "is_onboarded",
    "heat_pumps",
    "electric_vehicles",
    "wallboxes",
    "inverters",
    "lost_devices",
    "joined_at",
    "last_login",
    "archived_at",
];

/// The CSV export's header in `lang` (the English one is [`CSV_HEADER`]).
pub fn csv_header(lang: shared::Lang) -> Vec<String> {
    CSV_HEADER
        .iter()
        .map(|column| shared::tr(lang, &format!("csv.users.{column}"), &[]))
        .collect()
}

/// Append one user as a CSV line.
pub fn csv_row(out: &mut crate::csv::CsvWriter, u: &User, lost: Option<u32>) {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let time = |t: &Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
    let fields = [
        u.id.to_string(),
        opt(&u.first_name),
        opt(&u.last_name),
        u.email.clone(),
        opt(&u.external_user_id),
        u.role.as_str().to_string(),
        opt(&u.street_and_number),
        opt(&u.street_add_info),
        opt(&u.zip_code),
        opt(&u.town),
        opt(&u.country),
        u.latitude.map(|v| v.to_string()).unwrap_or_default(),
        u.longitude.map(|v| v.to_string()).unwrap_or_default(),
        u.is_onboarded.map(|v| v.to_string()).unwrap_or_default(),
        u.num_heat_pumps.to_string(),
        u.num_electric_vehicles.to_string(),
        u.num_wallboxes.to_string(),
        u.num_inverters.to_string(),
        lost.map(|n| n.to_string()).unwrap_or_default(),
        time(&u.joined_at),
        time(&u.last_login),
        time(&u.deleted_at),
    ];
    out.row(fields);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_header_in_both_languages() {
        assert_eq!(csv_header(shared::Lang::En), CSV_HEADER);
        let german = csv_header(shared::Lang::De);
        assert_eq!(german.len(), CSV_HEADER.len());
        assert_eq!(german[1], "Vorname");
        assert!(german.iter().all(|c| !c.starts_with("csv.")), "{german:?}");
    }
    use shared::directory::DeviceFilter;
    use shared::{DeviceKind, Role};

    fn user(n: u128, first: &str, last: &str, town: Option<&str>) -> User {
        let mut u: User = serde_json::from_value(serde_json::json!({
            "id": Uuid::from_u128(n), "role": "user", "email": format!("u{n}@example.at"),
        }))
        .unwrap();
        u.first_name = Some(first.into());
        u.last_name = Some(last.into());
        u.town = town.map(Into::into);
        u
    }

    fn snapshot() -> Snapshot {
        let mut a = user(1, "Jürgen", "Müller", Some("Graz"));
        a.num_heat_pumps = 1;
        a.is_onboarded = Some(true);
        let b = user(2, "Anna", "Zeller", None);
        let mut c = user(3, "Élodie", "Abel", Some("Wien"));
        c.role = Role::Staff;
        let mut d = user(4, "Old", "Customer", Some("Linz"));
        d.deleted_at = Some(Utc::now());
        Snapshot::build([a, b, c, d].into_iter().collect(), Utc::now())
    }

    fn names(m: &Matches) -> Vec<String> {
        m.users().map(|u| u.last_name.unwrap()).collect()
    }

    #[test]
    fn search_is_case_and_accent_insensitive_and_per_word() {
        let s = snapshot();
        let none = HashMap::new();
        for q in [
            "muller",
            "MÜLLER",
            "jurgen graz",
            "Jürgen Müller",
            "u1@example",
        ] {
            let m = s.query(
                &UserQuery {
                    q: q.into(),
                    ..Default::default()
                },
                &none,
                false,
            );
            assert_eq!(names(&m), ["Müller"], "{q}");
        }
        let m = s.query(
            &UserQuery {
                q: "elodie".into(),
                ..Default::default()
            },
            &none,
            false,
        );
        assert_eq!(m.total, 1);
        let m = s.query(
            &UserQuery {
                q: "graz wien".into(),
                ..Default::default()
            },
            &none,
            false,
        );
        assert_eq!(m.total, 0, "every word must match");
    }

    #[test]
    fn filters_sort_and_paging() {
        let s = snapshot();
        let none = HashMap::new();
        let all = s.query(&UserQuery::default(), &none, false);
        assert_eq!(
            names(&all),
            ["Abel", "Müller", "Zeller"],
            "archived hidden, by name"
        );
        let desc = s.query(
            &UserQuery {
                desc: true,
                ..Default::default()
            },
            &none,
            false,
        );
        assert_eq!(names(&desc), ["Zeller", "Müller", "Abel"]);
        let town = s.query(
            &UserQuery {
                sort: SortKey::Town,
                ..Default::default()
            },
            &none,
            false,
        );
        assert_eq!(names(&town), ["Müller", "Abel", "Zeller"], "no town last");
        let staff = s.query(
            &UserQuery {
                roles: vec![Role::Staff],
                ..Default::default()
            },
            &none,
            false,
        );
        assert_eq!(names(&staff), ["Abel"]);
        let hp = s.query(
            &UserQuery {
                device: Some(DeviceFilter::Kind(DeviceKind::HeatPump)),
                ..Default::default()
            },
            &none,
            false,
        );
        assert_eq!(names(&hp), ["Müller"]);
        let not_onboarded = s.query(
            &UserQuery {
                onboarded: Some(false),
                ..Default::default()
            },
            &none,
            false,
        );
        assert_eq!(not_onboarded.total, 2);
        let archived = s.query(
            &UserQuery {
                archived: Archived::Only,
                ..Default::default()
            },
            &none,
            false,
        );
        assert_eq!(names(&archived), ["Customer"]);
        let everyone = s.query(
            &UserQuery {
                archived: Archived::Include,
                ..Default::default()
            },
            &none,
            false,
        );
        assert_eq!(everyone.total, 4);
        let page2 = s.query(
            &UserQuery {
                per_page: 2,
                page: 2,
                ..Default::default()
            },
            &none,
            false,
        );
        assert_eq!(
            (page2.total, names(&page2)),
            (3, vec!["Zeller".to_string()])
        );
        let beyond = s.query(
            &UserQuery {
                per_page: 2,
                page: 9,
                ..Default::default()
            },
            &none,
            false,
        );
        assert_eq!((beyond.total, beyond.users().count()), (3, 0));
        let lost = HashMap::from([(Uuid::from_u128(2), 1)]);
        let m = s.query(
            &UserQuery {
                lost: true,
                ..Default::default()
            },
            &lost,
            false,
        );
        assert_eq!(names(&m), ["Zeller"]);
    }

    /// The indexed query answers exactly what walking every user in the
    /// sort order and testing each would (the definition), for many
    /// generated users and queries, including words that span two fields
    /// or two users' texts and pages past the end.
    #[test]
    fn the_index_answers_what_a_full_walk_answers() {
        let firsts = ["Anna", "Jürgen", "Élodie", "Max", "Ann"];
        let lasts = ["Müller", "Huber", "Annaberg", "Gruber", ""];
        let towns = [Some("Wien"), Some("Graz"), None, Some("Anna")];
        let mut seed = 7u64;
        let mut next = |n: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize % n
        };
        let users: Vec<User> = (0..300u128)
            .map(|n| {
                let mut u = user(n, firsts[next(5)], lasts[next(5)], towns[next(4)]);
                u.role = Role::ALL[next(4)];
                u.num_heat_pumps = next(2) as u32;
                u.num_wallboxes = next(2) as u32;
                u.is_onboarded = [None, Some(true), Some(false)][next(3)];
                if next(5) == 0 {
                    u.deleted_at = Some(Utc::now());
                }
                u
            })
            .collect();
        let s = Snapshot::build(users.iter().cloned().collect(), Utc::now());
        let lost: HashMap<Uuid, u32> = users.iter().step_by(7).map(|u| (u.id, 1)).collect();
        let searches = [
            "",
            "ann",
            "anna huber",
            "wien",
            "u1",
            "n\u{1f}",
            "\u{1f}a",
            "ra",
            "zzz",
            "muller graz",
            "a",
            "n a",
            "a anna",
            "\u{1f}",
            "é",
            "q",
            "q ann",
            "hu",
            "hub",
            "anna hub",
            "rann",
            "ranna",
            "zann",
            "erg",
            "nnm",
            "grazann",
        ];
        for (n, search) in searches.into_iter().enumerate() {
            for sort in SortKey::ALL {
                let q = UserQuery {
                    q: search.into(),
                    sort,
                    desc: n % 2 == 1,
                    archived: [Archived::Hide, Archived::Include, Archived::Only][n % 3],
                    roles: if n % 4 == 0 {
                        vec![Role::User, Role::Guest]
                    } else {
                        vec![]
                    },
                    device: [
                        None,
                        Some(DeviceFilter::Any),
                        Some(DeviceFilter::None),
                        Some(DeviceFilter::Kind(DeviceKind::Wallbox)),
                    ][n % 4],
                    onboarded: [None, Some(true), Some(false)][n % 3],
                    lost: n % 5 == 2,
                    per_page: 7,
                    page: (n as u32 % 4) + 1,
                };
                // The definition: every user in the order, tested one by one.
                let words: Vec<String> =
                    fold(&q.q).split_whitespace().map(str::to_string).collect();
                let key_pos = SortKey::ALL.iter().position(|k| *k == q.sort).unwrap();
                let mut order: Vec<u32> = s.orders[key_pos].to_vec();
                if q.desc {
                    order.reverse();
                }
                let expected: Vec<Uuid> = order
                    .iter()
                    .filter(|i| {
                        let u = s.users.get(**i).to_user();
                        let archived = u.deleted_at.is_some();
                        (match q.archived {
                            Archived::Hide => !archived,
                            Archived::Include => true,
                            Archived::Only => archived,
                        }) && (q.roles.is_empty() || q.roles.contains(&u.role))
                            && q.device.is_none_or(|d| d.matches(|k| u.count_of(k)))
                            && q.onboarded
                                .is_none_or(|o| u.is_onboarded.unwrap_or(false) == o)
                            && (!q.lost || lost.get(&u.id).is_some_and(|n| *n > 0))
                            && words.iter().all(|w| s.haystack(**i).contains(w.as_str()))
                    })
                    .map(|i| s.users.get(*i).id())
                    .collect();
                let m = s.query(&q, &lost, false);
                assert_eq!(m.total, expected.len(), "{search:?} {sort:?}");
                let page: Vec<Uuid> = m.users().map(|u| u.id).collect();
                let from = ((q.page - 1) * q.per_page) as usize;
                let want: Vec<Uuid> = expected.iter().skip(from).take(7).copied().collect();
                assert_eq!(page, want, "{search:?} {sort:?} page {}", q.page);
                let all: Vec<Uuid> = s.query(&q, &lost, true).users().map(|u| u.id).collect();
                assert_eq!(all, expected, "{search:?} {sort:?} all");
            }
        }
    }

    #[test]
    fn csv_quotes_and_guards_formulas() {
        let mut u = user(9, "=cmd()", "O\"Brien, Jr", None);
        u.town = Some("-Linz".into());
        u.street_and_number = Some("x;=HYPERLINK(\"http://evil\")".into());
        let mut w = crate::csv::CsvWriter::new(&CSV_HEADER);
        w.take();
        csv_row(&mut w, &u, Some(2));
        let out = String::from_utf8(w.take()).unwrap();
        assert!(out.contains(",\"'=cmd()\",\"O\"\"Brien, Jr\","), "{out}");
        assert!(out.contains("\"'-Linz\""), "{out}");
        assert!(
            out.contains(",\"x;=HYPERLINK(\"\"http://evil\"\")\","),
            "{out}"
        );
        assert!(out.ends_with(",\"2\",\"\",\"\",\"\"\r\n"), "{out}");
    }
}
