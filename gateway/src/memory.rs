//! Keeping the gateway's resident memory near what it holds (glibc only;
//! elsewhere these do nothing).
//!
//! Two kinds of big, short-lived allocations would otherwise stay resident
//! at their peak: a dropped users snapshot (tens of MB at 100,000 users)
//! and argon2's 19 MiB working memory per password check, made on
//! whichever blocking-pool thread (and glibc arena) runs it. glibc raises
//! its mmap threshold after the first large block is freed, so later large
//! blocks come from the arenas and are kept. [`tune_allocator`] fixes the
//! threshold at 1 MiB, so every larger block is mapped and given back when
//! freed; [`release_free_memory`] trims what the arenas still hold.

/// At start: blocks of 1 MiB and more are always mapped (and unmapped when
/// freed).
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes a tuning parameter of glibc's allocator,
    // the process allocator here; M_MMAP_THRESHOLD accepts any size up to
    // 32 MiB.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

/// Return freed heap memory to the operating system (after a snapshot was
/// replaced).
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of glibc's allocator,
    // which is the process allocator here; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}
